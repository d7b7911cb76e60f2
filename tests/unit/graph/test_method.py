"""The method's parts: diffusion samples, curriculum, inductive scoring, ego-graph equivalence, evidence."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from services.graph.detectors.ego_diffusion.curriculum import CurriculumScheduler, pattern_difficulty
from tests.contract.graph_case import SMALL_CONFIGS


def dense_egos(n_graphs: int, size: int, dense: bool, pattern: int, channels: int = 3):  # type: ignore[no-untyped-def]
    """Ego-graphs of ``size`` nodes: cliques (``dense``) or stars, attribute bins tied to the pattern."""
    from services.graph.detectors.ego_diffusion.diffusion import DenseEgoGraphs

    adj = torch.zeros(n_graphs, size, size, dtype=torch.long)
    if dense:
        adj[:] = 1 - torch.eye(size, dtype=torch.long)
    else:
        adj[:, 0, 1:] = adj[:, 1:, 0] = 1
    bins = torch.full((n_graphs, size, channels), 3 * pattern, dtype=torch.long)
    return DenseEgoGraphs(bins, adj, torch.ones(n_graphs, size, dtype=torch.bool),
                          torch.full((n_graphs,), pattern, dtype=torch.long))


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Small models on shared cores: one intra-op thread is several times faster than two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def augmenter() -> SimpleNamespace:
    from services.graph.detectors.ego_diffusion.augment import Augmenter, train_diffusion
    from services.graph.detectors.ego_diffusion.config import EgoDiffusionConfig
    from services.graph.detectors.ego_diffusion.diffusion import DenseEgoGraphs
    from services.graph.detectors.ego_diffusion.features import Binning

    torch.manual_seed(0)
    parts = [dense_egos(32, 8, True, 0), dense_egos(32, 8, False, 1)]
    data = DenseEgoGraphs(*(torch.cat([getattr(p, k) for p in parts]) for k in ("bins", "adj", "mask", "pattern")))
    cfg = EgoDiffusionConfig(diffusion_train_steps=250, diffusion_steps=10, diffusion_hidden=32, diffusion_layers=2,
                             diffusion_batch=32, n_bins=6, diffusion_lr=3e-3)
    diffusion, losses = train_diffusion(data, 2, cfg, torch.Generator().manual_seed(0))
    binning = Binning(torch.linspace(-3, 3, 7).repeat(3, 1))
    return SimpleNamespace(augmenter=Augmenter(diffusion, binning, [np.array([8]), np.array([8])]), losses=losses)


def test_diffusion_learns(augmenter: SimpleNamespace) -> None:
    assert np.mean(augmenter.losses[-20:]) < 0.5 * np.mean(augmenter.losses[:20])


def test_diffusion_samples_are_valid_graphs_of_the_requested_size(augmenter: SimpleNamespace) -> None:
    sizes = torch.tensor([3, 5, 8, 11])
    patterns, generator = torch.tensor([0, 1, 0, 1]), torch.Generator().manual_seed(1)
    bins, adj = augmenter.augmenter.diffusion.sample(sizes, patterns, generator)
    assert bins.shape == (4, 11, 3) and adj.shape == (4, 11, 11)
    for i, n in enumerate(sizes.tolist()):
        assert (adj[i] == adj[i].T).all() and (adj[i].diagonal() == 0).all() and adj[i].max() <= 1
        assert adj[i, n:].sum() == 0 and bins[i, n:].sum() == 0 and bins[i].max() < 6
    graphs = augmenter.augmenter.sample(np.array([3, 2]), torch.Generator().manual_seed(2), np.random.default_rng(0))
    assert [p for _, _, p in graphs] == [0, 0, 0, 1, 1]
    for z, graph, _ in graphs:
        assert z.shape == (8, 3) and graph.shape == (8, 8) and torch.isfinite(z).all()
        assert (graph == graph.T).all() and not graph.diagonal().any()
        reached, frontier = {0}, [0]
        while frontier:
            for u in torch.nonzero(graph[frontier.pop()]).flatten().tolist():
                if u not in reached:
                    reached.add(u)
                    frontier.append(u)
        assert reached == set(range(8)), "every node of an ego-graph is reachable from its center"


def test_diffusion_follows_the_pattern_condition(augmenter: SimpleNamespace) -> None:
    """Pattern 0 was trained on cliques, pattern 1 on stars: samples keep that structure."""
    sizes = torch.full((16,), 8)
    generator = torch.Generator().manual_seed(3)
    _, clique = augmenter.augmenter.diffusion.sample(sizes, torch.zeros(16, dtype=torch.long), generator)
    _, star = augmenter.augmenter.diffusion.sample(sizes, torch.ones(16, dtype=torch.long), generator)
    assert clique.float().mean() > 0.6 > 0.35 > star.float().mean()


def test_curriculum_moves_toward_the_worst_scored_pattern() -> None:
    rng = np.random.default_rng(0)
    normal = rng.normal(0, 1, 500)
    patterns = np.repeat([0, 1, 2], 20)
    anomaly_scores = np.concatenate([rng.normal(4, 0.5, 20), rng.normal(0.2, 0.5, 20), rng.normal(2, 0.5, 20)])
    difficulty = pattern_difficulty(anomaly_scores, patterns, normal, 3)
    assert np.argmax(difficulty) == 1 and difficulty[0] < difficulty[2] < difficulty[1]
    adaptive = CurriculumScheduler(3, adaptive=True, temperature=0.1, momentum=0.5, floor=0.05)
    uniform = CurriculumScheduler(3, adaptive=False, temperature=0.1, momentum=0.5, floor=0.05)
    shares = [adaptive.weights[1]]
    for _ in range(4):
        adaptive.update(difficulty)
        uniform.update(difficulty)
        shares.append(adaptive.weights[1])
    assert all(b > a for a, b in itertools.pairwise(shares)) and shares[-1] > 0.7
    assert adaptive.weights.min() >= 0.04 and np.allclose(uniform.weights, 1 / 3)
    counts = adaptive.allocate(64)
    assert counts.sum() == 64 and np.argmax(counts) == 1


@pytest.fixture(scope="module")
def fitted() -> SimpleNamespace:
    """The small detector fitted on snapshots 0-1 of a 300-node SBM; snapshots 2 and 3 are never seen."""
    from services.graph.batch import union
    from services.graph.data import sbm
    from services.graph.detectors.ego_diffusion import EgoDiffusionDetector

    data = sbm(n_nodes=300, n_snapshots=4, n_train=2, per_type=8, seed=0)
    detector = EgoDiffusionDetector(SMALL_CONFIGS["graph.ego_diffusion"]).fit(union(data.snapshots[:2]))
    test = data.snapshots[2]
    return SimpleNamespace(detector=detector, case=SimpleNamespace(test=replace(test, y=None)), later=data.snapshots[3])


def test_inductive_scoring_of_a_graph_never_seen(fitted: SimpleNamespace) -> None:
    """A later snapshot, cut to 200 nodes and relabelled: scores follow the nodes, anomalies rank high."""
    from sklearn.metrics import roc_auc_score

    from services.graph.batch import GraphBatch

    later = fitted.later
    scores = fitted.detector.score(replace(later, y=None))
    assert scores.shape == (300,) and scores.dtype == np.float32
    assert roc_auc_score(later.y > 0, scores) > 0.7
    keep = np.random.default_rng(0).permutation(300)[:200]  # new node ids: old keep[i] becomes i
    position = np.full(300, -1)
    position[keep] = np.arange(200)
    edges = position[later.edge_index]
    sub = GraphBatch(x=later.x[keep], edge_index=edges[:, (edges >= 0).all(axis=0)])
    sub_scores = fitted.detector.score(sub)
    assert sub_scores.shape == (200,) and np.isfinite(sub_scores).all()
    assert roc_auc_score(later.y[keep] > 0, sub_scores) > 0.65
    summary = fitted.detector.training_summary_
    assert summary["synthetic_total"] > 0 and summary["patterns"] == 2


def test_full_graph_scores_equal_ego_graph_scores(fitted: SimpleNamespace) -> None:
    """Layer-wise inference on the whole graph is exactly inference on each node's k-hop ego-graph."""
    from torch_geometric.utils import k_hop_subgraph

    detector, test = fitted.detector, fitted.case.test
    full = detector.score(test)
    batch = detector.validate_input(test)
    z, edges = detector._inputs(batch)
    for node in (0, 17, 123):
        subset, sub_edges, mapping, _ = k_hop_subgraph(node, detector.config.hops, edges, relabel_nodes=True,
                                                       num_nodes=z.shape[0])
        with torch.no_grad():
            ego = detector.gnn_(z[subset], sub_edges)[mapping].item()
        assert ego == pytest.approx(float(full[node]), abs=1e-4)


def test_evidence_names_real_neighbours(fitted: SimpleNamespace) -> None:
    test = replace(fitted.case.test, explain_top_k=3)
    scores, evidence = fitted.detector.score_and_explain(test)
    assert evidence.nodes.tolist() == np.argsort(-scores, kind="stable")[:3].tolist()
    edges = set(map(tuple, fitted.detector.validate_input(test).edge_index.T.tolist()))
    for node, neighbours in zip(evidence.nodes, evidence.neighbours, strict=True):
        assert all((int(v), int(node)) in edges for v in neighbours if v >= 0)
    assert evidence.influence.dtype == np.float32


def test_fit_needs_labels(fitted: SimpleNamespace) -> None:
    from services.core.errors import InvalidInputError
    from services.graph.detectors.ego_diffusion import EgoDiffusionDetector

    with pytest.raises(InvalidInputError, match="labels"):
        EgoDiffusionDetector().fit(fitted.case.test)
