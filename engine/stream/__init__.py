"""The Faust adapter: app, runtime, read model."""
