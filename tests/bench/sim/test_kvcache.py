"""Block prefix cache: full blocks only, longest common prefix, LRU tail-first eviction, CPU tier."""

from __future__ import annotations

import pytest

from comem.bench.sim.kvcache import CacheSeq, PrefixCache


def run(cache: PrefixCache, sid: int, segments: list, tokens: int | None = None) -> tuple[CacheSeq, int]:
    """Admit a sequence, compute the rest of it, release it; returns the sequence and its GPU prefix hit (tokens)."""
    seq = CacheSeq(sid, cache.path(segments))
    total = sum(t for _, t in segments) if tokens is None else tokens
    hit = cache.lookup(seq, (total - 1) // cache.bs)
    cache.hold_to(seq, hit.gpu_blocks)
    have = hit.gpu_blocks * cache.bs
    cache.allocate(cache.blocks(total) - hit.gpu_blocks)
    cache.settle(seq, total)
    cache.check()
    cache.release(seq, total)
    cache.check()
    return seq, have


def test_hits_are_whole_blocks_of_the_common_prefix() -> None:
    cache = PrefixCache(capacity=100, block_size=16)
    run(cache, 0, [("head", 40), ("a", 30)])  # 70 tokens: 4 full blocks cached (64 tokens)
    _, hit = run(cache, 1, [("head", 40), ("a", 30), ("b", 10)])
    assert hit == 64
    _, hit = run(cache, 2, [("head", 40), ("c", 30)])  # diverges at 40: blocks 0,1 (32 tokens) match
    assert hit == 32
    _, hit = run(cache, 3, [("other", 40)])
    assert hit == 0


def test_a_full_hit_still_computes_the_last_block() -> None:
    cache = PrefixCache(capacity=100, block_size=16)
    run(cache, 0, [("x", 64)])
    _, hit = run(cache, 1, [("x", 64)])
    assert hit == 48  # at most prompt - 1 tokens, block-aligned


def test_lru_evicts_the_oldest_sequence_tail_first() -> None:
    cache = PrefixCache(capacity=8, block_size=1)
    run(cache, 0, [("a", 4)])
    run(cache, 1, [("b", 4)])
    assert cache.used == 8 and cache.available() == 8
    run(cache, 2, [("c", 2)])  # needs 2 blocks: a's last two go
    assert cache.lookup(CacheSeq(3, cache.path([("a", 4)])), 3).gpu_blocks == 2  # a's head survived
    assert cache.lookup(CacheSeq(4, cache.path([("b", 4)])), 3).gpu_blocks == 3  # b untouched (limit prompt - 1)


def test_held_blocks_are_never_evicted() -> None:
    cache = PrefixCache(capacity=6, block_size=1)
    seq = CacheSeq(0, cache.path([("a", 4)]))
    cache.allocate(4)
    cache.settle(seq, 4)
    assert cache.available() == 2
    with pytest.raises(RuntimeError):
        cache.allocate(3)
    cache.release(seq, 4)
    cache.allocate(6)
    assert cache.resident == 0 and cache.private == 6
    cache.check()


def test_shared_head_is_held_once() -> None:
    cache = PrefixCache(capacity=100, block_size=4)
    a = CacheSeq(0, cache.path([("sys", 8), ("a", 8)]))
    b = CacheSeq(1, cache.path([("sys", 8), ("b", 8)]))
    cache.allocate(4)
    cache.settle(a, 16)
    hit = cache.lookup(b, 3)
    assert (hit.gpu_blocks, hit.pinned) == (2, 0)  # sys is resident and already held by a
    cache.hold_to(b, 2)
    cache.allocate(2)
    cache.settle(b, 16)
    assert cache.used == 6 and cache.held_total == 6
    cache.release(a, 16)
    cache.release(b, 16)
    assert cache.held_total == 0 and cache.used == 6
    cache.check()


def test_cpu_tier_keeps_evicted_blocks() -> None:
    cache = PrefixCache(capacity=8, block_size=1, cpu_capacity=100)
    run(cache, 0, [("a", 8)])
    run(cache, 1, [("b", 8)])  # evicts all of a to the CPU tier
    seq = CacheSeq(2, cache.path([("a", 8)]))
    hit = cache.lookup(seq, 7)
    assert (hit.gpu_blocks, hit.blocks) == (0, 7)
    assert cache.cpu_used == 8


def test_cpu_tier_drops_oldest_copies_when_full() -> None:
    cache = PrefixCache(capacity=4, block_size=1, cpu_capacity=4)
    run(cache, 0, [("a", 4)])
    run(cache, 1, [("b", 4)])
    run(cache, 2, [("c", 4)])  # a was dropped from the CPU tier to make room for b
    cache.check()
    assert cache.lookup(CacheSeq(3, cache.path([("a", 4)])), 3).blocks == 0
    assert cache.lookup(CacheSeq(4, cache.path([("b", 4)])), 3).blocks == 3


def test_a_segment_key_names_one_content() -> None:
    cache = PrefixCache(capacity=10, block_size=1)
    cache.path([("x", 3)])
    with pytest.raises(ValueError):
        cache.path([("x", 4)])


def test_private_branch_is_dropped() -> None:
    cache = PrefixCache(capacity=10, block_size=2)
    seq = CacheSeq(0, cache.path([("x", 6)], root_key=("nocache", 0)))
    cache.allocate(3)
    cache.settle(seq, 6)
    cache.release(seq, 6, keep=False)
    cache.drop_branch(seq.path)
    assert cache.used == 0 and not cache.root.children
    cache.check()
