"""How ``--workers`` splits the partitions: about equal record counts per worker."""

from __future__ import annotations

from engine.audit.replay_parallel import balanced_shares


def test_largest_first_to_the_least_loaded_share() -> None:
    sizes = {0: 100, 1: 10, 2: 60, 3: 50, 4: 0, 5: 40}
    # 0 -> a; 2, 3 -> b; 5 -> a; 1, 4 -> b (the lighter one each time)
    assert balanced_shares(sizes, 2) == [[0, 5], [1, 2, 3, 4]]  # 140 and 120 records


def test_every_partition_once_and_no_empty_share() -> None:
    sizes = {p: (p * 37) % 11 for p in range(12)}
    for workers in (1, 2, 3, 5, 12, 20):
        shares = balanced_shares(sizes, workers)
        assert sorted(p for s in shares for p in s) == list(range(12))
        assert all(shares) and len(shares) <= min(workers, 12)
        assert all(s == sorted(s) for s in shares)


def test_round_robin_would_leave_one_worker_with_most_of_the_work() -> None:
    sizes = {0: 50, 1: 5, 2: 50, 3: 5, 4: 50, 5: 5}
    loads = [sum(sizes[p] for p in s) for s in balanced_shares(sizes, 2)]
    assert loads == [100, 65]  # the best there is; round robin: 150 and 15
