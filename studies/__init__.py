"""Studies, trials and scores in the database; the database storage the core runs on; pages and JSON API."""
