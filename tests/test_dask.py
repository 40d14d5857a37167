"""sepconv.dask: lazy filtering of Dask arrays equals the NumPy path, on threads and a cluster."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import sepconv  # noqa: E402
import sepconv.dask as sdask  # noqa: E402
from sepconv import filters  # noqa: E402

MODES = [
    "reflect",
    "mirror",
    "nearest",
    "wrap",
    "constant",
    "grid-mirror",
    "grid-constant",
    "grid-wrap",
]
rng = np.random.default_rng(6)


def _data(shape, dtype):
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -1000), min(info.max, 1000), shape).astype(dtype)


def _compute(lazy):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return lazy.compute(scheduler="threads")


def _lazy(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rechunk warnings: tested on their own
        return func(*args, **kwargs)


# --------------------------------------------------------------------------- equality


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.int16])
def test_correlate_equals_numpy_path_for_every_mode_and_dtype(mode, dtype):
    x = _data((23, 17), dtype)
    w = rng.standard_normal((5, 4))
    lazy = _lazy(sdask.correlate, da.from_array(x, chunks=(6, 5)), w, mode=mode, cval=1.25)
    assert isinstance(lazy, da.Array) and lazy.dtype == dtype
    got = _compute(lazy)
    np.testing.assert_array_equal(got, filters.correlate(x, w, mode=mode, cval=1.25))
    # and scipy, the independent reference, within the engine's documented tolerance
    reference = ndi.correlate(x, w, mode=mode, cval=1.25)
    if np.dtype(dtype).kind == "f":
        np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-4)
    else:
        assert np.abs(got.astype(np.int64) - reference).max() <= 1


@pytest.mark.parametrize("mode", MODES)
def test_convolve_with_origins_and_even_kernels_equals_numpy_path(mode):
    x = _data((19, 26), np.float64)
    w = rng.standard_normal((4, 7))
    for origin in [(0, 0), (-2, 3), (1, -3)]:
        got = _compute(
            _lazy(sdask.convolve, da.from_array(x, chunks=(5, 8)), w, mode=mode, origin=origin)
        )
        expected = filters.convolve(x, w, mode=mode, origin=origin)
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_allclose(
            got, ndi.convolve(x, w, mode=mode, origin=origin), rtol=1e-12, atol=1e-12
        )


@pytest.mark.parametrize("chunks", [(1, 1, 1), (2, 3, 5), (7, 1, 4), ((3, 1, 6), (2, 2, 2, 2), 9)])
def test_odd_and_tiny_chunks_of_a_volume_equal_numpy_path(chunks):
    x = _data((10, 8, 9), np.float32)
    w = rng.standard_normal((3, 5, 2)).astype(np.float32)
    got = _compute(_lazy(sdask.correlate, da.from_array(x, chunks=chunks), w, mode="mirror"))
    np.testing.assert_array_equal(got, filters.correlate(x, w, mode="mirror"))


def test_kernel_larger_than_chunks_rechunks_with_a_warning():
    x = _data((30, 31), np.float64)
    w = rng.standard_normal((11, 13))
    with pytest.warns(UserWarning, match=r"shorter than the kernel's reach \(6\).*rechunking"):
        lazy = sdask.correlate(da.from_array(x, chunks=(4, 5)), w, mode="wrap")
    assert min(min(c[:-1], default=99) for c in lazy.chunks) >= 6 or lazy.numblocks == (1, 1)
    np.testing.assert_array_equal(_compute(lazy), filters.correlate(x, w, mode="wrap"))


def test_kernel_larger_than_the_whole_array():
    x = _data((5, 6), np.float64)
    w = rng.standard_normal((13, 15))
    for mode in ("reflect", "wrap", "mirror", "constant"):
        got = _compute(_lazy(sdask.correlate, da.from_array(x, chunks=(2, 3)), w, mode=mode))
        np.testing.assert_allclose(got, ndi.correlate(x, w, mode=mode), rtol=1e-12, atol=1e-12)


def test_big_chunks_do_not_warn():
    x = da.from_array(_data((40, 40), np.float64), chunks=20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sdask.correlate(x, np.ones((5, 5)))


def test_constant_mode_with_a_cval_the_dtype_cannot_hold_is_exact():
    x = _data((12, 14), np.uint8)
    w = np.ones((3, 3))
    lazy = sdask.correlate(
        da.from_array(x, chunks=(5, 5)), w, mode="constant", cval=-0.5, output=np.float64
    )
    assert lazy.dtype == np.float64
    expected = ndi.correlate(x.astype(np.float64), w, mode="constant", cval=-0.5)
    np.testing.assert_allclose(_compute(lazy), expected, rtol=1e-12)


def test_axes_filter_only_the_requested_axes_of_a_colour_batch():
    x = _data((3, 14, 15, 3), np.float32)  # (batch, H, W, channel)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    lazy = sdask.correlate(da.from_array(x, chunks=(1, 7, 6, 3)), w, axes=(1, 2), mode="nearest")
    got = _compute(lazy)
    np.testing.assert_array_equal(got, filters.correlate(x, w, axes=(1, 2), mode="nearest"))
    np.testing.assert_allclose(
        got, ndi.correlate(x, w[None, :, :, None], mode="nearest"), rtol=1e-5, atol=1e-5
    )


def test_sepfilter_equals_numpy_path_and_chained_correlate1d():
    x = _data((17, 21, 9), np.float64)
    factors = [rng.standard_normal(k) for k in (5, 2, 7)]
    got = _compute(
        _lazy(
            sdask.sepfilter,
            da.from_array(x, chunks=(4, 6, 3)),
            factors,
            mode="reflect",
            origin=(0, -1, 2),
        )
    )
    np.testing.assert_array_equal(
        got, filters.sepfilter(x, factors, mode="reflect", origin=(0, -1, 2))
    )
    reference = x
    for axis, (f, o) in enumerate(zip(factors, (0, -1, 2))):
        reference = ndi.correlate1d(reference, f, axis=axis, mode="reflect", origin=o)
    np.testing.assert_allclose(got, reference, rtol=1e-12, atol=1e-12)


def test_sepfilter_on_a_subset_of_axes():
    x = _data((11, 12, 13), np.float32)
    factors = [np.array([1.0, 2.0, 1.0], np.float32), np.array([1.0, -1.0], np.float32)]
    got = _compute(sdask.sepfilter(da.from_array(x, chunks=5), factors, axes=(2, 0), mode="wrap"))
    np.testing.assert_array_equal(got, filters.sepfilter(x, factors, axes=(2, 0), mode="wrap"))


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 13), min_size=1, max_size=3),
    data=st.data(),
)
def test_random_shapes_chunks_kernels_and_origins_equal_numpy_path(shape, data):
    ndim = len(shape)
    chunks = tuple(data.draw(st.integers(1, n)) for n in shape)
    ksize = tuple(data.draw(st.integers(1, 7)) for _ in shape)
    origin = tuple(data.draw(st.integers(-(k // 2), (k - 1) // 2)) for k in ksize)
    mode = data.draw(st.sampled_from(MODES))
    func = data.draw(st.sampled_from(["correlate", "convolve"]))
    seed = data.draw(st.integers(0, 2**16))
    r = np.random.default_rng(seed)
    x = r.standard_normal(shape)
    w = r.standard_normal(ksize)
    lazy = _lazy(
        getattr(sdask, func), da.from_array(x, chunks=chunks), w, mode=mode, origin=origin, cval=0.5
    )
    got = _compute(lazy)
    assert got.shape == x.shape and ndim == got.ndim
    expected = getattr(ndi, func)(x, w, mode=mode, origin=origin, cval=0.5)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- the API


def test_result_is_lazy_and_input_untouched():
    x = _data((12, 12), np.float64)
    before = x.copy()
    calls = []

    def spy(block):
        if block.size:  # Dask calls it once on an empty block to learn the output type
            calls.append(1)
        return block

    lazy_input = da.from_array(x, chunks=6).map_blocks(spy, dtype=x.dtype)
    result = sdask.correlate(lazy_input, np.ones((3, 3)))
    assert calls == [] and isinstance(result, da.Array)
    _compute(result)
    assert calls and np.array_equal(x, before)


def test_bad_arguments_raise_at_call_time_like_numpy():
    x = da.zeros((8, 8), chunks=4)
    with pytest.raises(ValueError, match="mode"):
        sdask.correlate(x, np.ones((3, 3)), mode="reflct")
    with pytest.raises(ValueError, match="origin"):
        sdask.correlate(x, np.ones((3, 3)), origin=2)
    with pytest.raises(TypeError, match="output must be None or a dtype"):
        sdask.correlate(x, np.ones((3, 3)), output=np.zeros((8, 8)))
    with pytest.raises(TypeError, match="dask.array.Array"):
        sdask.correlate(np.zeros((8, 8)), np.ones((3, 3)))


def test_top_level_functions_delegate_dask_arrays():
    import sepconv

    x = _data((15, 16), np.float32)
    lazy = sepconv.correlate(da.from_array(x, chunks=7), np.ones((3, 3), np.float32))
    assert isinstance(lazy, da.Array)
    np.testing.assert_array_equal(_compute(lazy), sepconv.correlate(x, np.ones((3, 3), np.float32)))


def test_zero_size_array():
    x = da.zeros((0, 5), chunks=(1, 5))
    got = sdask.correlate(x, np.ones((3, 3))).compute()
    assert got.shape == (0, 5)


def test_importing_sepconv_does_not_import_dask():
    code = "import sepconv, sys; assert 'dask' not in sys.modules, 'dask imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_dask_a_dask_call_gives_an_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.array", None)
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ImportError, match=r"pip install 'sepconv\[dask\]'"):
        sdask.correlate(object(), np.ones(3))


def test_slabs_are_filtered_in_waves_so_chunks_are_not_loaded_far_ahead():
    from dask.callbacks import Callback

    events = []

    def load(block, block_id=None):
        events.append(("load", block_id[0]))
        return block

    x = da.from_array(_data((48, 40), np.float64), chunks=(6, 10)).map_blocks(
        load, dtype=np.float64
    )
    lazy = sdask.correlate(x, np.ones((3, 3)), mode="reflect")
    finished = lambda key, *args: (  # noqa: E731
        events.append(("done", key[1])) if key[0] == lazy.name else None
    )
    events.clear()
    with dask.config.set(num_workers=2), Callback(posttask=finished):
        lazy.compute(scheduler="threads", num_workers=2)
    # Rows of blocks (slabs) are finished in order, and no chunk is loaded more than
    # two slabs ahead of the slab being filtered.
    done = [slab for kind, slab in events if kind == "done"]
    assert len(done) == 8 * 4 and done == sorted(done)
    for i, (kind, slab) in enumerate(events):
        if kind == "load":
            finished = [s for k, s in events[:i] if k == "done"]
            current = next(s for s in range(9) if finished.count(s) < 4)
            assert slab <= current + 2, (slab, current)


# --------------------------------------------------------------------------- threads


def _threads_in_task(_=None):
    with sdask.engine_threads() as n:
        return sdask.concurrent_tasks(), n


def test_thread_rule_on_local_schedulers():
    cores = sdask._usable_cores()
    pool = dask.compute(
        *[dask.delayed(_threads_in_task)(i) for i in range(2)], scheduler="threads", num_workers=2
    )
    assert pool[0] == (2, max(1, cores // 2))
    sync = dask.compute(dask.delayed(_threads_in_task)(0), scheduler="sync")[0]
    assert sync == (1, cores)


def test_engine_threads_restores_the_previous_count():
    before = sepconv.get_num_threads()
    with sdask.engine_threads(1) as n:
        assert n == 1 == sepconv.get_num_threads()
    assert sepconv.get_num_threads() == before


# --------------------------------------------------------------------------- a real cluster


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_local_cluster_of_processes_gives_numpy_results(client):
    x = _data((40, 37), np.float32)
    w = rng.standard_normal((7, 6)).astype(np.float32)
    for mode in ("reflect", "wrap", "constant"):
        lazy = _lazy(sdask.correlate, da.from_array(x, chunks=(9, 8)), w, mode=mode, cval=2.0)
        got = client.compute(lazy).result()
        np.testing.assert_array_equal(got, filters.correlate(x, w, mode=mode, cval=2.0))
    pids = client.run(lambda: __import__("os").getpid())
    assert len(set(pids.values())) == 2


def test_cluster_workers_split_the_cores_between_them(client):
    results = client.gather(client.map(_threads_in_task, range(4), pure=False))
    cores = sdask._usable_cores()
    assert all(concurrent == 2 and threads == max(1, cores // 2) for concurrent, threads in results)


def test_cluster_context_manager_connects_to_an_address(client):
    with sdask.cluster(client.scheduler.address) as other:
        assert other.scheduler.address == client.scheduler.address
        x = da.from_array(_data((20, 20), np.float64), chunks=10)
        got = other.compute(sdask.correlate(x, np.ones((3, 3)))).result()
    np.testing.assert_array_equal(got, filters.correlate(x.compute(), np.ones((3, 3))))


def test_cluster_with_workers_starts_worker_processes_and_a_dashboard():
    import os

    with sdask.cluster(workers=1) as client:
        assert "://" in client.dashboard_link
        assert len(client.scheduler_info()["workers"]) == 1
        assert client.run(os.getpid).popitem()[1] != os.getpid()
        x = da.from_array(_data((12, 12), np.float64), chunks=6)
        got = client.compute(sdask.correlate(x, np.ones((3, 3)), mode="wrap")).result()
    np.testing.assert_array_equal(got, filters.correlate(x.compute(), np.ones((3, 3)), mode="wrap"))


def test_cluster_argument_errors():
    with pytest.raises(ValueError, match="workers"):
        with sdask.cluster("tcp://127.0.0.1:1", workers=2):
            pass
    with pytest.raises(ValueError, match="scheduler must be"):
        with sdask.cluster("nonsense"):
            pass
    with sdask.cluster() as none:
        assert none is None


# --------------------------------------------------------------------------- benchmark


def test_small_out_of_core_benchmark_runs_and_matches(tmp_path):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_dask.py"
    spec = importlib.util.spec_from_file_location("bench_dask", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.main(
        [
            "--size",
            "0.004",
            "--chunks",
            "32,32,32",
            "--dir",
            str(tmp_path),
            "--results",
            str(tmp_path / "results"),
            "--check-count",
            "2",
            "--check-block",
            "24",
        ]
    )
    assert (tmp_path / "results" / "bench_dask.md").is_file()
    assert not any(p.name.startswith("sepconv-bench-dask") for p in tmp_path.iterdir())
    for name in ("sepconv", "dask-image"):
        run = result["runs"][name]
        assert 0 < run["peak_rss_bytes"] < 2 * 2**30
    ulps = result["check"]["max_diff_in_float32_ulps_of_max"]
    assert all(v < 8 for v in ulps.values()), ulps


@pytest.mark.parametrize("axes, origin", [((2, 0), (1, -1)), ((2, 1, 0), (1, 0, -1))])
def test_unsorted_axes_equal_the_numpy_path(axes, origin):
    rng = np.random.default_rng(3)
    x = rng.random((12, 14, 16))
    w = rng.random((3, 5) if len(axes) == 2 else (3, 4, 5))
    expected = filters.correlate(x, w, axes=axes, origin=origin, mode="mirror")
    lazy = filters.correlate(
        da.from_array(x, chunks=(6, 7, 8)), w, axes=axes, origin=origin, mode="mirror"
    )
    np.testing.assert_array_equal(lazy.compute(), expected)
