"""CSV importer of the CRM's reference data; formats in crm_bridge/README.md."""

from crm_bridge.importer.run import ImportResult, import_directory

__all__ = ["ImportResult", "import_directory"]
