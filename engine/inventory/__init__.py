"""The inventory of units and assets: model and loader."""

from engine.inventory.loader import lint_inventory, load_inventory
from engine.inventory.model import Asset, Contact, Inventory, MaintenanceWindow, Unit

__all__ = [
    "Asset",
    "Contact",
    "Inventory",
    "MaintenanceWindow",
    "Unit",
    "lint_inventory",
    "load_inventory",
]
