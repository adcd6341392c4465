"""The dashboard's four views (tabs): runs, training, solve, start a run."""
