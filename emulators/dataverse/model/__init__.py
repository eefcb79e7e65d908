"""Data model of the Dataverse emulator: tables, columns, values, rows and their persistence."""
