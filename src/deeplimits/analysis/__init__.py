"""Per-claim analyses: numbers from runs -> CSV/JSON under results/<scale>/<paper>/<claim>/."""
