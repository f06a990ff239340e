"""The inventory of units and assets: model and loader."""

from engine.inventory.model import Asset, Contact, Inventory, MaintenanceWindow, Unit

__all__ = ["Asset", "Contact", "Inventory", "MaintenanceWindow", "Unit"]
