"""Claim files with a chosen verdict, for tests of the table and the sensitivity summaries:
the verdict is judged from the measures (claims.write_claim), so each verdict gets a measure
that makes it."""

from deeplimits.claims import write_claim
from deeplimits.uncertainty import measure

# (value, interval) against the band [0, 1] for each verdict.
_FOR = {"reproduced": (0.5, (0.4, 0.6)), "not reproduced": (2.0, (1.9, 2.1)), "inconclusive": (1.0, (0.9, 1.1))}


def claim_with(path, claim_id, verdict, *, scale="paper", values=None, **fields):
    """Write a claim file whose verdict is `verdict` ("not at this scale": no measures)."""
    fields = {"measured": "m", "target": "t", "tolerance": "x", **fields}
    measures = []
    if verdict in _FOR:
        value, (lo, hi) = _FOR[verdict]
        measures = [measure("x", value, (lo, hi, "test"), 0.0, 1.0)]
    elif verdict != "not at this scale":
        raise ValueError(f"no measure makes the verdict {verdict!r}")
    return write_claim({"claim": path}, "claim", claim_id, scale=scale, values=values, measures=measures, **fields)
