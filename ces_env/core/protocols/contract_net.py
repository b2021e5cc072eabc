"""The Contract Net Protocol (Smith 1980) as a group control protocol."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from ces_env.core.protocols.base import register_control
from ces_env.core.protocols.negotiation import ManagerValidation, NegotiationOptions, NegotiationProtocol


@dataclasses.dataclass(frozen=True)
class ContractNetOptions(NegotiationOptions):
    """Options of ``contract-net``."""

    batch_size: int = 0
    """Task announcements per round: the highest-reward open tasks, at most this many (0: every open task)."""

    OPTION_BOUNDS = {"batch_size": (0, None)}  # noqa: RUF012  (a plain class attribute, not a field)


def contract_net_awards(tasks: list[int], bids: np.ndarray) -> list[tuple[int, int]]:
    """The manager's award rule: ``(task index, bidder index)`` pairs.

    ``bids[i, j]`` is bidder i's estimated completion time of task ``tasks[j]``; tasks are given highest priority
    first. Each task in turn goes to the best (lowest) bid among the bidders not yet awarded in this round (ties: the
    lower bidder index); tasks left over when every bidder has a contract stay unawarded.
    """
    free = np.ones(bids.shape[0], dtype=bool)
    awards = []
    for j in range(len(tasks)):
        if not free.any():
            break
        column = np.where(free, bids[:, j], np.inf)
        winner = int(np.argmin(column))  # argmin returns the first minimum: the lower index on ties
        free[winner] = False
        awards.append((j, winner))
    return awards


@register_control
class ContractNet(NegotiationProtocol):
    """Contract Net (R. G. Smith, "The Contract Net Protocol: High-Level Communication and Control in a Distributed
    Problem Solver", IEEE Trans. Computers C-29(12), 1980).

    **Manager.** The group entity is the manager of each of its tasks: whenever the group has open (ready, unheld)
    tasks and agents that may bid (``queue_limit``: by default agents with nothing to do), it sends a *task
    announcement* for each open task (highest reward first, at most ``batch_size``) to each of those agents (tasks x
    agents messages). The announcement's expiration time is the bid deadline: one hop for the announcement and one for
    the bids.

    **Contractors' bid rule.** An agent bids on every announced task it is eligible for (all of them) with its
    *estimated completion time* (backlog plus expected cost, :meth:`completion_estimate`: a replay if it knows the
    task's class, else an estimate from the maze's size and its speed): one message per bid.

    **Award.** At the deadline the manager awards the tasks in reward order, each to the best (lowest) bid among the
    agents not yet awarded in this round (:func:`contract_net_awards`; one *award message* each). Losing bids expire
    silently (Smith) or are rejected (``notify_losers``: one message per losing bid). Tasks left unawarded (more
    tasks than bidders) are announced again in the next round, which opens as soon as this one closes if agents are
    left, else when an agent frees up.

    **Timing and validation.** Announcement, bids and award are one hop each (``negotiation_latency_ticks``): a task
    starts 3 hops after its round opens. The contractor's final report (its solution) goes to the manager, which
    validates it as a FIFO single server (:class:`ManagerValidation`).
    """

    name: ClassVar[str] = "contract-net"
    description: ClassVar[str] = "Contract Net: the group manager announces tasks, agents bid completion times"
    Options: ClassVar[type] = ContractNetOptions
    validation: ClassVar[type[ManagerValidation]] = ManagerValidation

    def __init__(self, sim) -> None:
        super().__init__(sim)
        n_groups = sim.instance.n_groups
        self._tasks: list[list[int]] = [[] for _ in range(n_groups)]
        self._bidders: list[list[int]] = [[] for _ in range(n_groups)]
        self._bids: list[np.ndarray | None] = [None] * n_groups

    def open_round(self, group: int, tasks: np.ndarray, bidders: list[int]) -> None:
        batch = self.options.batch_size
        announced = [int(t) for t in (tasks[:batch] if batch else tasks)]
        self._tasks[group], self._bidders[group] = announced, bidders
        self.send(len(announced) * len(bidders))  # one task announcement per task and contractor
        self.after_hops(1, self._bid, group)

    def _bid(self, group: int) -> None:
        """The announcements have arrived: every contractor evaluates every task and sends its bids."""
        tasks, bidders = self._tasks[group], self._bidders[group]
        self._bids[group] = np.array([self.completion_estimates(a, tasks) for a in bidders], dtype=np.float64).reshape(
            len(bidders), len(tasks)
        )
        self.send(len(tasks) * len(bidders))
        self.after_hops(1, self._award, group)

    def _award(self, group: int) -> None:
        """The bid deadline: award each task to its best remaining bid, in reward order."""
        tasks, bidders, bids = self._tasks[group], self._bidders[group], self._bids[group]
        assert bids is not None, "contract-net: awards before bids"
        awards = contract_net_awards(tasks, bids)
        for j, i in awards:
            self.award(tasks[j], bidders[i])
        if self.options.notify_losers:
            self.send(bids.size - len(awards))
        self._bids[group] = None
        self.end_round(group)


__all__ = ["ContractNet", "ContractNetOptions", "contract_net_awards"]
