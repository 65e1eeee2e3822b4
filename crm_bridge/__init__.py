"""CRM bridge: the CRM data model, its importer and the HTTP API the bot calls."""
