"""A Vickrey-Clarke-Groves allocation of small task bundles, with Clarke pivot payments, as a group control protocol."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from functools import cache
from typing import ClassVar

import numpy as np

from ces_env.core.protocols.base import register_control
from ces_env.core.protocols.negotiation import (
    ManagerValidation,
    NegotiationOptions,
    NegotiationProtocol,
    estimated_cost,
)


# -------------------------------------------------------------------------------------------------------- the rule
@cache
def count_allocations(n_agents: int, n_items: int, bundle_size: int) -> int:
    """How many allocations the brute force visits: each agent gets nothing or 1..``bundle_size`` of ``n_items``
    items, no item twice (the count of partial assignments of disjoint bundles to agents)."""
    if n_agents == 0 or n_items == 0:
        return 1
    total = count_allocations(n_agents - 1, n_items, bundle_size)
    for size in range(1, min(bundle_size, n_items) + 1):
        total += math.comb(n_items, size) * count_allocations(n_agents - 1, n_items - size, bundle_size)
    return total


@dataclasses.dataclass(frozen=True)
class VCGOutcome:
    """The efficient allocation (``assignment[i]``: the bundle index agent i gets, -1 for none), its welfare, and
    the Clarke pivot payment to each agent (0 for agents that get nothing)."""

    assignment: tuple[int, ...]
    welfare: float
    payments: tuple[float, ...]


def _best_allocation(
    bundles: Sequence[frozenset[int]], values: Sequence[float], costs: np.ndarray, excluded: int = -1
) -> tuple[float, tuple[int, ...]]:
    """Brute force: the allocation of disjoint bundles to distinct agents (agent ``excluded`` gets nothing) with the
    largest welfare ``sum(value - cost)``. Among allocations of equal welfare the one that allocates more items wins
    (a task worth exactly its cost is still done), then the first found: agents are tried in order, each first with
    every bundle (in order), then with nothing."""
    n_agents = costs.shape[0]
    best_key, best = (0.0, 0), tuple([-1] * n_agents)
    choice = [-1] * n_agents

    def search(agent: int, used: frozenset[int], welfare: float) -> None:
        nonlocal best_key, best
        if agent == n_agents:
            key = (welfare, len(used))
            if key[0] > best_key[0] + 1e-9 or (key[0] > best_key[0] - 1e-9 and key[1] > best_key[1]):
                best_key, best = key, tuple(choice)
            return
        if agent != excluded:
            for b, bundle in enumerate(bundles):
                if not used & bundle and math.isfinite(costs[agent, b]):
                    choice[agent] = b
                    search(agent + 1, used | bundle, welfare + values[b] - float(costs[agent, b]))
        choice[agent] = -1
        search(agent + 1, used, welfare)

    search(0, frozenset(), 0.0)
    return best_key[0], best


def vcg_outcome(bundles: Sequence[frozenset[int]], values: Sequence[float], costs: np.ndarray) -> VCGOutcome:
    """The VCG mechanism of a procurement of bundles (Vickrey 1961, Clarke 1971, Groves 1973).

    ``values[b]`` is what the buyer (the group) gains when bundle b is done, ``costs[i, b]`` agent i's reported cost
    of doing it (``inf``: not offered). The allocation maximises welfare ``sum(value - cost)`` over disjoint bundles
    to distinct agents (:func:`_best_allocation`). Clarke pivot: agent i is paid its reported cost plus its marginal
    contribution to welfare, ``cost_i + W* - W*_{-i}`` (``W*_{-i}``: the best welfare without agent i), so that
    reporting the true cost is a dominant strategy and no agent loses by taking part.

    **The values are the buyer's reserve.** Maximising ``sum(value - cost)`` is the same as a phantom bidder that
    does every item at its value (leaving an item unallocated costs its value): a bundle whose cost exceeds its value
    is never allocated, and a lone bidder (``W*_{-i} = 0``) is paid ``cost_i + value - cost_i``, the value of what it
    gets, whatever it reported, as a lone Vickrey bidder is paid the reserve.
    """
    costs = np.asarray(costs, dtype=np.float64)
    welfare, assignment = _best_allocation(bundles, values, costs)
    payments = []
    for agent, bundle in enumerate(assignment):
        if bundle < 0:
            payments.append(0.0)
            continue
        without, _ = _best_allocation(bundles, values, costs, excluded=agent)
        payments.append(float(costs[agent, bundle]) + welfare - without)
    return VCGOutcome(assignment, welfare, tuple(payments))


# -------------------------------------------------------------------------------------------------------- protocol
@dataclasses.dataclass(frozen=True)
class VCGOptions(NegotiationOptions):
    """Options of ``vcg``."""

    bundle_size: int = 2
    """The largest bundle: agents bid on every set of 1..bundle_size of the round's items."""
    max_items: int = 4
    """Tasks offered per round: the group's open tasks with the highest rewards, at most this many."""
    max_allocations: int = 100_000
    """The largest brute force allowed per round (:func:`count_allocations` for the largest group, ``max_items``
    and ``bundle_size``); a larger one is refused when the episode starts."""

    OPTION_BOUNDS = {"bundle_size": (1, None), "max_items": (1, None), "max_allocations": (1, None)}  # noqa: RUF012


@register_control
class VCGAllocation(NegotiationProtocol):
    """VCG over small bundles (W. Vickrey 1961; E. H. Clarke, "Multipart Pricing of Public Goods", Public Choice 11,
    1971; T. Groves, "Incentives in Teams", Econometrica 41, 1973), in the procurement form of combinatorial
    auctions (Cramton, Shoham & Steinberg, "Combinatorial Auctions", MIT Press 2006, ch. 1).

    **Round.** The group entity (the center) offers the ``max_items`` open tasks with the highest rewards; the
    bundles are every set of 1..``bundle_size`` of them. Each agent that may bid reports its cost of every bundle:
    its estimated completion time of the bundle's last task, doing the tasks in reward order with a validation in
    between and counting the classes it will have learnt (a second task of the same class is a replay: the synergy
    that makes bundles worth bidding on). The group values a bundle at the sum of its tasks' reservation costs
    (:meth:`reservation_cost`, the same reserve as the sealed-bid auctions'), above any idle agent's cost, so every
    bundle is worth doing; it is the cost of leaving the task unallocated, so a lone bidder is paid the reserve of
    what it wins (see :func:`vcg_outcome`).

    **Allocation and payments.** :func:`vcg_outcome`: the allocation of disjoint bundles to distinct agents that
    maximises welfare (value minus reported cost), found by brute force, and Clarke pivot payments (recorded in
    ``payments``). Ties go to the allocation that does more tasks, then to the lower agent ids. A winner does its
    bundle's tasks in order.

    **Size limit.** The brute force visits :func:`count_allocations` allocations per round (plus one search per
    winner for its payment): 1191 for groups of 5 with the default 4 items and bundles of 2. The protocol refuses,
    when the episode starts, a group size whose count exceeds ``max_allocations``.

    **Messages and time.** The offer (one message per bidder, one hop), the bids (one message per bidder with a cost
    per bundle, one hop), the awards (one message per winning agent, with its bundle and payment; ``notify_losers``:
    one per other bidder), one hop. The center validates solutions as a FIFO single server.
    """

    name: ClassVar[str] = "vcg"
    description: ClassVar[str] = "VCG over small bundles with Clarke pivot payments (brute force, small groups)"
    Options: ClassVar[type] = VCGOptions
    validation: ClassVar[type[ManagerValidation]] = ManagerValidation

    def __init__(self, sim) -> None:
        super().__init__(sim)
        options = self.options
        largest = int(sim.group_size.max())
        count = count_allocations(largest, options.max_items, options.bundle_size)
        if count > options.max_allocations:
            raise ValueError(
                f"control 'vcg': the brute-force allocation would visit {count} allocations per round (groups of "
                f"{largest} agents, max_items={options.max_items}, bundle_size={options.bundle_size}), more than "
                f"max_allocations={options.max_allocations}; use smaller groups, fewer items or smaller bundles, or "
                f"raise max_allocations in control_options"
            )
        n_groups = sim.instance.n_groups
        self._items: list[list[int]] = [[] for _ in range(n_groups)]
        self._bidders: list[list[int]] = [[] for _ in range(n_groups)]
        self._costs: list[np.ndarray | None] = [None] * n_groups
        self._true_costs: list[np.ndarray | None] = [None] * n_groups
        self.welfare = 0.0

    def bundles(self, items: Sequence[int]) -> list[frozenset[int]]:
        """Every set of 1..bundle_size of ``items`` (indices), smaller first, then in item order."""
        return [
            frozenset(combo)
            for size in range(1, self.options.bundle_size + 1)
            for combo in itertools.combinations(range(len(items)), size)
        ]

    def bundle_cost(self, agent: int, tasks: Sequence[int], *, truthful: bool = False) -> int:
        """``agent``'s estimated completion time of the last of ``tasks`` (done in the given order after its
        backlog, a validation between two tasks, classes learnt on the way replayed): its bid, as reported, or
        (``truthful``) as it would bid telling the truth, its true cost of the bundle."""
        known = self.known_after_backlog(agent)
        total = self.backlog(agent, truthful=truthful)
        for k, task in enumerate(tasks):
            if k:
                total += self.validation_ticks()
            total += estimated_cost(self.sim, agent, task, known, truthful=truthful)
            known.add(int(self.sim.instance.task_class[task]))
        return total

    def open_round(self, group: int, tasks: np.ndarray, bidders: list[int]) -> None:
        self._items[group] = [int(t) for t in tasks[: self.options.max_items]]
        self._bidders[group] = bidders
        self.send(len(bidders))  # the offer of the round's items
        self.after_hops(1, self._bid, group)

    def _bid(self, group: int) -> None:
        items, bidders = self._items[group], self._bidders[group]
        bundles = self.bundles(items)
        tasks_of = [[items[i] for i in sorted(b)] for b in bundles]
        costs = np.array([[self.bundle_cost(a, t) for t in tasks_of] for a in bidders], dtype=np.float64)
        costs = costs.reshape(len(bidders), len(bundles))
        true_costs = costs.copy()  # differs only in the rows of agents that misreport
        for row, agent in enumerate(bidders):
            if self.misreports(agent):
                true_costs[row] = [self.bundle_cost(agent, t, truthful=True) for t in tasks_of]
        self._costs[group], self._true_costs[group] = costs, true_costs
        self.send(len(bidders))  # one message per bidder: its cost of every bundle
        self.after_hops(1, self._allocate, group)

    def _allocate(self, group: int) -> None:
        items, bidders, costs, true_costs = (
            self._items[group],
            self._bidders[group],
            self._costs[group],
            self._true_costs[group],
        )
        assert costs is not None and true_costs is not None, "vcg: allocation before the bids"
        self._costs[group] = self._true_costs[group] = None
        bundles = self.bundles(items)
        values = [sum(self.reservation_cost(group, items[i]) for i in b) for b in bundles]
        outcome = vcg_outcome(bundles, values, costs)
        winners = 0
        for index, bundle in enumerate(outcome.assignment):
            if bundle < 0:
                continue
            winners += 1
            for k, item in enumerate(sorted(bundles[bundle])):  # item indices follow the reward order
                first = k == 0
                self.award(
                    items[item],
                    bidders[index],
                    outcome.payments[index] if first else None,
                    messages=int(first),
                    true_cost=float(true_costs[index, bundle]) if first else 0.0,  # the bundle's, once
                )
        self.welfare += outcome.welfare
        if self.options.notify_losers:
            self.send(len(bidders) - winners)
        self.end_round(group, retry=winners > 0)

    def mechanism_stats(self) -> dict:
        return {**super().mechanism_stats(), "welfare": float(self.welfare)}


__all__ = ["VCGAllocation", "VCGOptions", "VCGOutcome", "count_allocations", "vcg_outcome"]
