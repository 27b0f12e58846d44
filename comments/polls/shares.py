"""Whole-number percentages that add up to exactly 100."""

from functools import lru_cache


def largest_remainder_percentages(counts, *, total=100):
    """Whole-number shares of `total` that add up to exactly `total` (Hamilton's method).

    Each count gets the floor of its exact share; the points left over go to the largest
    remainders, ties to the larger count and then to the earlier position, so the result is
    stable. No votes at all gives all zeros.
    """
    return list(_percentages(tuple(counts), total))


# A poll's chart asks for the same days' shares on every render: each is worked out once.
@lru_cache(maxsize=4096)
def _percentages(counts, total):
    votes = sum(counts)
    if votes == 0:
        return (0,) * len(counts)
    shares = [divmod(count * total, votes) for count in counts]
    percentages = [whole for whole, _ in shares]
    left_over = total - sum(percentages)
    by_remainder = sorted(
        range(len(counts)), key=lambda index: (-shares[index][1], -counts[index], index)
    )
    for index in by_remainder[:left_over]:
        percentages[index] += 1
    return tuple(percentages)
