"""Block KV cache with vLLM-style automatic prefix caching, LRU eviction and an optional CPU tier.

Prompts are lists of segments `(key, tokens)` whose keys name their content (the head, step t's observation,
summary #i, ...), so prefixes are matched per segment, not per token. Segments form a trie; a trie node owns
the blocks whose last token falls inside its segment, so a block's identity is (node, position) — the same
thing vLLM's chained block hashes express. Per node we keep how many of its blocks are resident (a prefix of
them: eviction takes the tail first) and who holds them. Only full blocks are cached; a sequence's partial
last block, and the blocks it fills while decoding, are private until it finishes or is preempted.

Freed blocks stay cached and are evicted least-recently-freed first, the tail of a sequence first
(docs/simulator.md). With a CPU tier, evicted blocks are copied there (capacity-bound, oldest copies dropped
first) and a later prefix hit on them costs a host-link copy instead of recomputation.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

Segment = tuple[Hashable, int]  # (content key, tokens)


class Node:
    """One segment at one position in the trie."""

    __slots__ = ("key", "children", "end", "b0", "nb", "gpu", "full", "part", "stamp", "cpu_lo", "cpu_hi")

    def __init__(self, key: Hashable, start: int, end: int, block_size: int) -> None:
        self.key = key
        self.children: dict[Hashable, Node] = {}
        self.end = end
        self.b0 = start // block_size  # first block whose last token lies in this segment
        self.nb = end // block_size - self.b0  # blocks owned
        self.gpu = 0  # blocks [0, gpu) of this node are resident on the GPU
        self.full = 0  # sequences holding all nb blocks
        self.part: dict[int, int] | None = None  # sequence id -> blocks held, for sequences that hold some
        self.stamp = -1  # release stamp of the last sequence that let go of it
        self.cpu_lo = 0  # blocks [cpu_lo, cpu_hi) have a copy in the CPU tier
        self.cpu_hi = 0

    def held(self) -> int:
        if self.full:
            return self.nb
        return max(self.part.values()) if self.part else 0


class CacheSeq:
    """A sequence's view of the cache: its trie path and how far into it its holds reach."""

    __slots__ = ("sid", "path", "held", "i", "c")

    def __init__(self, sid: int, path: list[Node]) -> None:
        self.sid = sid
        self.path = path
        self.held = 0  # full blocks held through the trie
        self.i = 0  # holds cover path[:i] fully ...
        self.c = 0  # ... and c blocks of path[i]


@dataclass
class Hit:
    """A prefix lookup: resident blocks, blocks including the CPU tier, and cached blocks it would pin."""

    gpu_blocks: int
    blocks: int
    pinned: int


class PrefixCache:
    """KV blocks of one engine. `used` (resident + private) never exceeds `capacity`."""

    def __init__(self, capacity: int, block_size: int, cpu_capacity: int = 0, enabled: bool = True) -> None:
        self.capacity = capacity
        self.bs = block_size
        self.cpu_capacity = cpu_capacity
        self.enabled = enabled
        self.root = Node(None, 0, 0, block_size)
        self.resident = 0  # blocks in the trie on the GPU (in use or cached)
        self.private = 0  # blocks owned by one sequence and not (yet) in the trie
        self.held_total = 0  # trie blocks some sequence holds
        self.cpu_used = 0
        self.evicted = 0
        self._stamp = 0
        self._lru: deque[list] = deque()  # [stamp, path, index of the next node to look at, from the tail]
        self._cpu_lru: deque[tuple[Node, int]] = deque()

    # --- accounting -------------------------------------------------------------------------------------------
    @property
    def used(self) -> int:
        return self.resident + self.private

    def available(self) -> int:
        """Blocks that can still be allocated: free ones plus cached ones nobody holds."""
        return self.capacity - self.held_total - self.private

    def blocks(self, tokens: int) -> int:
        return -(-tokens // self.bs)

    # --- trie ---------------------------------------------------------------------------------------------------
    def path(self, segments: Sequence[Segment], root_key: Hashable | None = None) -> list[Node]:
        """The trie nodes of a token sequence, created as needed. `root_key` starts a private branch."""
        node, pos, out = self.root, 0, []
        if root_key is not None:
            node = self._child(node, root_key, 0, 0)
            out.append(node)
        bs = self.bs
        for key, tokens in segments:
            if tokens <= 0:
                continue
            child = node.children.get(key)
            if child is None:
                child = node.children[key] = Node(key, pos, pos + tokens, bs)
            elif child.end != pos + tokens:
                raise ValueError(f"segment {key!r} has {tokens} tokens here and {child.end - pos} elsewhere")
            pos += tokens
            out.append(child)
            node = child
        return out

    def _child(self, node: Node, key: Hashable, start: int, end: int) -> Node:
        child = node.children.get(key)
        if child is None:
            child = node.children[key] = Node(key, start, end, self.bs)
        return child

    def drop_branch(self, path: list[Node]) -> None:
        """Forget a private branch (a sequence run without prefix caching): its blocks are freed at once."""
        for node in path:
            self.resident -= node.gpu
            node.gpu = 0
        if path:
            self.root.children.pop(path[0].key, None)

    # --- lookups and holds --------------------------------------------------------------------------------------
    def lookup(self, seq: CacheSeq, limit: int) -> Hit:
        """Longest cached prefix of at most `limit` blocks, for a sequence that holds nothing yet."""
        if not self.enabled or limit <= 0:
            return Hit(0, 0, 0)
        gpu = total = pinned = 0
        on_gpu = True
        for node in seq.path:
            if on_gpu:
                take = min(node.gpu, limit - gpu)
                pinned += max(0, take - node.held())
                gpu += take
                on_gpu = take == node.nb
            cover = node.gpu
            if node.cpu_hi > cover and node.cpu_lo <= cover:
                cover = node.cpu_hi
            cover = min(cover, limit - total)
            total += cover
            if cover < node.nb:
                break
        return Hit(gpu, total, pinned)

    def hold_to(self, seq: CacheSeq, blocks: int) -> int:
        """Extend the sequence's holds to its first `blocks` full blocks; returns the blocks that became resident."""
        need = blocks - seq.held
        created = 0
        path, sid = seq.path, seq.sid
        while need > 0:
            node = path[seq.i]
            take = min(node.nb - seq.c, need)
            old = node.held()
            hi = seq.c + take
            if hi > node.gpu:
                created += hi - node.gpu
                self.resident += hi - node.gpu
                node.gpu = hi
            if hi == node.nb:
                if node.part is not None:
                    node.part.pop(sid, None)
                node.full += 1
                seq.i += 1
                seq.c = 0
            else:
                if node.part is None:
                    node.part = {}
                node.part[sid] = hi
                seq.c = hi
            self.held_total += node.held() - old
            seq.held += take
            need -= take
        return created

    def allocate(self, blocks: int) -> None:
        """Give `blocks` new private blocks, evicting cached ones if no free block is left."""
        if blocks <= 0:
            return
        if blocks > self.available():
            raise RuntimeError(f"allocating {blocks} blocks with {self.available()} available")
        short = blocks - (self.capacity - self.used)
        if short > 0:
            self._evict(short)
        self.private += blocks

    def settle(self, seq: CacheSeq, tokens: int) -> None:
        """Move the sequence's private full blocks into the trie, so others can hit them."""
        full = tokens // self.bs
        moved = full - seq.held
        if moved > 0:
            self.hold_to(seq, full)
            self.private -= moved

    def release(self, seq: CacheSeq, tokens: int, keep: bool = True) -> None:
        """The sequence is done (or preempted): its blocks go back, cached unless `keep` is False."""
        self.private -= self.blocks(tokens) - seq.held
        if keep:
            self.hold_to(seq, tokens // self.bs)
        self._stamp += 1
        stamp, sid, path = self._stamp, seq.sid, seq.path
        last = seq.i if seq.c else seq.i - 1  # the last node this sequence holds blocks of
        for idx in range(last + 1):
            node = path[idx]
            old = node.held()
            if idx < seq.i:
                node.full -= 1
            else:
                del node.part[sid]
                if not node.part:
                    node.part = None
            self.held_total += node.held() - old
            if keep:
                node.stamp = stamp
        if keep and last >= 0:
            self._lru.append([stamp, path, last])
        seq.held, seq.i, seq.c = 0, 0, 0

    # --- eviction -----------------------------------------------------------------------------------------------
    def _evict(self, blocks: int) -> None:
        """Free `blocks` cached blocks: least recently released sequence first, its tail first."""
        lru = self._lru
        while blocks > 0:
            entry = lru[0]
            stamp, path, idx = entry
            while idx >= 0 and blocks > 0:
                node = path[idx]
                if node.stamp == stamp:
                    spare = node.gpu - node.held()
                    if spare > 0:
                        take = min(spare, blocks)
                        node.gpu -= take
                        self.resident -= take
                        self.evicted += take
                        blocks -= take
                        if self.cpu_capacity:
                            self._store_cpu(node, node.gpu, node.gpu + take)
                        if take < spare:
                            break
                idx -= 1
            if idx < 0:
                lru.popleft()
            else:
                entry[2] = idx

    def _store_cpu(self, node: Node, lo: int, hi: int) -> None:
        """Copy evicted blocks [lo, hi) of a node to the CPU tier, dropping the oldest copies when it is full."""
        before = node.cpu_hi - node.cpu_lo
        if before and node.cpu_lo <= hi and node.cpu_hi >= lo:
            node.cpu_lo, node.cpu_hi = min(lo, node.cpu_lo), max(hi, node.cpu_hi)
        else:
            node.cpu_lo, node.cpu_hi = lo, hi
        self.cpu_used += node.cpu_hi - node.cpu_lo - before
        self._cpu_lru.append((node, hi - lo))
        while self.cpu_used > self.cpu_capacity:
            old, count = self._cpu_lru.popleft()
            take = min(count, old.cpu_hi - old.cpu_lo, self.cpu_used - self.cpu_capacity)
            old.cpu_hi -= take
            self.cpu_used -= take

    # --- checks -------------------------------------------------------------------------------------------------
    def check(self) -> None:
        """Recount everything from the trie (slow; for tests)."""
        resident = held = cpu = 0
        stack = [self.root]
        while stack:
            node = stack.pop()
            assert 0 <= node.held() <= node.gpu <= node.nb, (node.key, node.held(), node.gpu, node.nb)
            assert 0 <= node.cpu_hi - node.cpu_lo <= node.nb
            resident += node.gpu
            held += node.held()
            cpu += node.cpu_hi - node.cpu_lo
            stack.extend(node.children.values())
        assert resident == self.resident, (resident, self.resident)
        assert held == self.held_total, (held, self.held_total)
        assert cpu == self.cpu_used <= max(self.cpu_capacity, 0), (cpu, self.cpu_used)
        assert self.private >= 0 and self.used <= self.capacity, (self.private, self.used, self.capacity)
