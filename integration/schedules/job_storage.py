"""Where schedule-import jobs live in the storage account (docs/storage.md): names only, so the entry
layer can declare its queue triggers without loading the flow."""

TABLE = "importjobs"
QUEUE = "schedule-import-jobs"
POISON_QUEUE = f"{QUEUE}-poison"
PAYLOADS = "import-payloads"
LOCKS = "import-locks"
CONNECTION = "AzureWebJobsStorage"
"""The app setting (or ``__`` prefix) of the storage account the queue triggers listen on."""
