"""The ``swarmjac`` command line: ``demo`` (the main job on a built-in problem), ``fit`` and ``predict``.

A thin layer over the public API only (Dataset.from_csv, MLP, fit, save/load, csvfile, plots; no private
name of another swarmjac module, tests/test_cli.py checks it): it parses arguments, turns every user error
into one clear message and a non-zero exit, and never loses a run (Ctrl-C keeps the best model so far and
the checkpoint).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import logging
import os
import sys
import time
from typing import Iterator, Optional, Sequence

import numpy as np

from swarmjac.pso import TOPOLOGIES
from swarmjac.training import fit_defaults

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """A user error reported as ``swarmjac: error: <message>`` with exit status 1."""


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 2,16,16,1, got {text!r}")
    if len(values) < 2:
        raise argparse.ArgumentTypeError(f"need at least an input and an output width, got {text!r}")
    return values


def _name_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated column names")
    return names


_FIT_DEFAULTS = fit_defaults()


def _describe_trainer(args: argparse.Namespace, trainer: dict) -> str:
    """One line: what the trainer will do."""
    scaled = "standardised data, " if trainer["scale"] else ""
    if trainer["refine"] is None:
        return f"{scaled}plain PSO {args.particles} particles x {args.iters} iterations (seed {args.seed})"
    if args.iters == 0:
        return (f"{scaled}multi-start: {args.particles} starts polished at once by L-BFGS, chosen on held-out "
                f"rows (seed {args.seed})")
    return (f"{scaled}PSO {args.particles} particles x {args.iters} iterations (topology {args.topology}, "
            f"seed {args.seed}), L-BFGS refinement and polish of the best particles")


def _add_training_options(parser: argparse.ArgumentParser, particles: int, iters: int) -> None:
    parser.add_argument("--particles", type=int, default=particles,
                        help="swarm size: the starting points of the candidates (default %(default)s)")
    parser.add_argument("--iters", type=int, default=iters,
                        help="PSO iterations before the polish (default %(default)s: multi-start, no swarm)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    parser.add_argument("--topology", default="global", choices=list(TOPOLOGIES),
                        help="PSO topology (default %(default)s)")
    parser.add_argument("--threads", type=int, default=None, help="kernel threads (default: every core)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    trainer = parser.add_argument_group("trainer", "held-out rows, standardised data, multi-start or PSO, "
                                                   "L-BFGS refinement and polish")
    trainer.add_argument("--no-scale", action="store_true",
                         help="train on the data as given, not standardised")
    trainer.add_argument("--refine", choices=["lbfgs", "none"], default="lbfgs",
                         help="gradient refinement of the best particles (default %(default)s; none: plain PSO)")
    trainer.add_argument("--refine-every", type=int, default=None,
                         help="iterations between refinements during the swarm phase (0: only at the end)")
    trainer.add_argument("--polish-iters", type=int, default=None,
                         help="L-BFGS iterations of the final polish of each candidate")


#: swarmjac fit's options for held-out selection, weight decay and ensembles:
#: (flag, sj.fit keyword, type, metavar, help).
_SELECTION_OPTIONS = (
    ("--validation-fraction", "validation_fraction", float, "FRACTION",
     "share of the observations held out (stratified by what a row observes) to select the model; 0: none"),
    ("--alpha", "alpha", float, "ALPHA", "L2 weight decay in the standardised space (as scikit-learn's "
                                         "MLPRegressor)"),
    ("--ensemble-size", "ensemble_size", int, "K",
     "K > 1 keeps the best K candidates (selected on the held-out data) as an ensemble: the model file "
     "then holds K members, and 'swarmjac predict' writes their mean and spread"),
)


def _add_selection_options(parser: argparse.ArgumentParser) -> None:
    from swarmjac.training import DEFAULT_ALPHA, DEFAULT_VALIDATION_FRACTION

    # None leaves the choice to sj.fit: its defaults are shown, never repeated here.
    defaults = dict(_FIT_DEFAULTS)
    defaults["alpha"] = DEFAULT_ALPHA if defaults["alpha"] is None else defaults["alpha"]
    if defaults["validation_fraction"] is None:
        defaults["validation_fraction"] = f"{DEFAULT_VALIDATION_FRACTION} when that holds out enough rows, else 0"
    group = parser.add_argument_group("model selection", "held-out validation, weight decay and ensembles")
    for flag, keyword, kind, metavar, text in _SELECTION_OPTIONS:
        shown = f"default {defaults[keyword]}"
        group.add_argument(flag, dest=keyword, type=kind, metavar=metavar, default=None, help=f"{text} ({shown})")


def _selection_options(args: argparse.Namespace) -> dict:
    """The sj.fit keywords of the model-selection options the user gave (the others keep sj.fit's defaults)."""
    return {keyword: getattr(args, keyword) for _, keyword, *_ in _SELECTION_OPTIONS
            if getattr(args, keyword) is not None}


def _format_errors(errors) -> str:
    """'values 0.0123, partials 0.456' from a FitErrors (NaN, shown as '-': nothing of that kind observed)."""
    def number(value: float) -> str:
        return "-" if value is None or not np.isfinite(value) else f"{value:.6g}"

    return f"values {number(errors.values)}, partials {number(errors.partials)}"


def _trainer_options(args: argparse.Namespace) -> dict:
    """sj.fit's scale= and refine= from the trainer options."""
    if args.refine == "none":
        if args.refine_every is not None or args.polish_iters is not None:
            raise CLIError("--refine-every and --polish-iters need --refine lbfgs")
        refine = None
    else:
        refine = {}
        if args.refine_every is not None:
            refine["every"] = args.refine_every
        if args.polish_iters is not None:
            refine["final_maxiter"] = args.polish_iters
    return {"scale": not args.no_scale, "refine": refine}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``swarmjac`` command."""
    parser = argparse.ArgumentParser(
        prog="swarmjac",
        description="Train MLPs by particle swarm optimisation on mixed value / partial-derivative data.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser("demo", help="fit the built-in mixed value/derivative problem and report the fit")
    demo.add_argument("--out-dir", default=".", help="where to write the model and the plot (default: .)")
    demo.add_argument("--samples", type=int, default=300, help="training rows (default %(default)s)")
    demo.add_argument("--layers", type=_int_list, default=[2, 16, 16, 1], help="layer sizes (default 2,16,16,1)")
    demo.add_argument("--activation", default="tanh", help="hidden activation (default %(default)s)")
    demo.add_argument("--no-plot", action="store_true", help="skip the plot")
    _add_training_options(demo, particles=_FIT_DEFAULTS["n_particles"], iters=_FIT_DEFAULTS["iters"])

    fit = sub.add_parser("fit", help="train a network on a CSV data set")
    fit.add_argument("data", help="CSV with input columns, value columns and dy/dx-style derivative columns")
    fit.add_argument("--layers", type=_int_list, required=True, help="layer sizes, e.g. 2,16,16,1")
    fit.add_argument("--activation", default="tanh", help="hidden activation (default %(default)s)")
    fit.add_argument("--inputs", type=_name_list, default=None, help="input column names (default: inferred)")
    fit.add_argument("--outputs", type=_name_list, default=None, help="output names (default: inferred)")
    fit.add_argument("--value-weight", type=float, default=1.0)
    fit.add_argument("--derivative-weight", type=float, default=1.0)
    fit.add_argument("--out", required=True, help="model file to write (.npz)")
    fit.add_argument("--checkpoint", default=None, help="checkpoint file, written atomically while training")
    fit.add_argument("--checkpoint-every", type=int, default=50, help="iterations between checkpoints")
    fit.add_argument("--resume", default=None, help="continue from this checkpoint (same data and network)")
    fit.add_argument("--plot", default=None, help="also save a plot of the fit to this file (needs matplotlib)")
    _add_training_options(fit, particles=_FIT_DEFAULTS["n_particles"], iters=_FIT_DEFAULTS["iters"])
    _add_selection_options(fit)
    _add_dask_options(fit)

    predict = sub.add_parser(
        "predict", help="evaluate a saved model on the points of a CSV file",
        description="Evaluate a saved model on the points of a CSV file. For an ensemble (swarmjac fit "
                    "--ensemble-size K > 1) the value and partial columns hold the members' mean, and a column "
                    "std(<name>) after them holds the members' standard deviation for each.")
    predict.add_argument("model", help="model file written by 'swarmjac fit' or 'swarmjac demo' (one model or "
                                       "an ensemble)")
    predict.add_argument("points", help="CSV with the model's input columns")
    predict.add_argument("--jacobian", action="store_true", help="also write the partial derivatives")
    predict.add_argument("--output", "-o", default=None, help="output CSV (default: standard output)")
    return parser


def _progress(quiet: bool) -> Optional[bool]:
    return False if quiet else None


def _run_demo(args: argparse.Namespace) -> int:
    import swarmjac as sj
    from swarmjac.demo import evaluate_fit, make_demo_data

    os.makedirs(args.out_dir, exist_ok=True)
    data = make_demo_data(args.samples, seed=args.seed)
    if args.layers[0] != 2 or args.layers[-1] != 1:
        raise CLIError(f"the demo problem has 2 inputs and 1 output; --layers must start with 2 and end with 1, "
                       f"got {args.layers}")
    net = sj.MLP(args.layers, args.activation)
    print("swarmjac demo: fit f(x1, x2) = sin(x1) cos(x2) on [-2, 2]^2 from mixed observations")
    print(f"  data:    {data}")
    print(f"  network: {net} ({net.n_params} parameters)")
    trainer = _trainer_options(args)
    print(f"  trainer: {_describe_trainer(args, trainer)}")
    start = time.perf_counter()
    result = sj.fit(net, data, n_particles=args.particles, iters=args.iters, seed=args.seed,
                    topology=args.topology, n_threads=args.threads, progress=_progress(args.quiet), **trainer)
    elapsed = time.perf_counter() - start
    evaluations = result.pso_result.n_evaluations
    refine_time = sum(record.wall_time for record in result.refinements)
    gradient_evaluations = sum(record.n_evaluations for record in result.refinements)
    swarm = f"{evaluations} swarm evaluations" if args.iters else f"{evaluations} starts"
    print(f"  trained in {elapsed:.1f} s: {swarm}"
          + (f", {gradient_evaluations} L-BFGS evaluations ({refine_time:.1f} s)" if result.refinements else "")
          + f"; final fitness {result.cost:.3g}")
    print(f"  errors (RMSE / spread of the data): training rows {_format_errors(result.training_error)}; "
          f"{len(result.validation_rows)} held-out rows {_format_errors(result.validation_error)}")
    quality = evaluate_fit(net, result.params)
    rel = quality.relative()
    print("  held-out fit on 2000 fresh points (RMSE, and RMSE / spread of the truth):")
    print(f"    y       RMSE {quality.rmse_value:.5f}  ({100 * rel[0]:.2f}% of spread {quality.spread_value:.3f})")
    for j in range(2):
        print(f"    dy/dx{j + 1}  RMSE {quality.rmse_partials[j]:.5f}  ({100 * rel[j + 1]:.2f}% of spread "
              f"{quality.spread_partials[j]:.3f})")
    model_path = os.path.join(args.out_dir, "swarmjac-demo-model.npz")
    sj.save(model_path, net, result.params, cost=result.cost, inputs=list(data.input_names),
            outputs=list(data.output_names))
    print(f"  model saved to {model_path}")
    if not args.no_plot:
        _save_plot(net, result, data, os.path.join(args.out_dir, "swarmjac-demo.png"))
    if result.stopped_reason == "interrupted":
        print("  interrupted: the model above is the best found so far", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK


def _save_plot(net, result, data, path: str) -> None:
    try:
        from swarmjac.plots import plot_fit

        plot_fit(net, result.params, data, result.history, path=path, refinements=result.refinements)
    except ImportError as exc:
        print(f"  no plot: {exc}", file=sys.stderr)
        return
    print(f"  plot saved to {path}")


def _run_fit(args: argparse.Namespace) -> int:
    import swarmjac as sj

    data = sj.Dataset.from_csv(args.data, inputs=args.inputs, outputs=args.outputs,
                               value_weight=args.value_weight, derivative_weight=args.derivative_weight)
    if args.layers[0] != data.d_in or args.layers[-1] != data.d_out:
        raise CLIError(f"--layers {','.join(map(str, args.layers))} does not fit the data: it has {data.d_in} "
                       f"inputs {list(data.input_names)} and {data.d_out} outputs {list(data.output_names)}")
    net = sj.MLP(args.layers, args.activation)
    if not args.quiet:
        print(f"data: {data}", file=sys.stderr)
        print(f"network: {net} ({net.n_params} parameters)", file=sys.stderr)
    options = {} if args.resume is not None else {"topology": args.topology}
    selection = _selection_options(args)
    if selection and args.islands is not None:
        raise CLIError(f"{', '.join(_flag(keyword) for keyword in selection)}: not supported with --islands")
    fit_arguments = dict(n_particles=args.particles, iters=args.iters, seed=args.seed, n_threads=args.threads,
                         progress=_progress(args.quiet), checkpoint_path=args.checkpoint,
                         checkpoint_every=args.checkpoint_every if args.checkpoint else None,
                         resume=args.resume, **_trainer_options(args), **selection, **options)
    if _uses_dask(args):
        result = _fit_on_dask(args, net, data, fit_arguments)
    else:
        result = sj.fit(net, data, **fit_arguments)
    metadata = dict(cost=result.cost, inputs=list(data.input_names), outputs=list(data.output_names),
                    iterations=result.pso_result.n_iterations)
    ensemble = getattr(result, "ensemble", None)
    if ensemble is None and (args.ensemble_size or 1) > 1:
        print(f"no ensemble: the run ended before its final polish gave {args.ensemble_size} candidates; "
              f"saving the best model alone", file=sys.stderr)
    if ensemble is not None:
        sj.save(args.out, ensemble, **metadata)
    else:
        sj.save(args.out, net, result.params, **metadata)
    interrupted = result.stopped_reason == "interrupted"
    print(f"{'interrupted after' if interrupted else 'done:'} {result.pso_result.n_iterations} iterations, "
          f"best fitness {result.cost:.6g}; "
          + (f"ensemble of {ensemble.size} models" if ensemble is not None else "model")
          + f" saved to {args.out}"
          + (f", checkpoint in {args.checkpoint}" if args.checkpoint else ""), file=sys.stderr)
    for label, attribute in (("training", "training_error"), ("validation", "validation_error")):
        errors = getattr(result, attribute, None)  # an island-model result may carry none
        if errors is not None:
            print(f"{label} error (RMSE / spread of the data): {_format_errors(errors)}", file=sys.stderr)
    if args.plot:
        _save_plot(net, result, data, args.plot)
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


# ----- swarmjac fit on a Dask cluster (--scheduler / --local-cluster, --islands) -----

_DEFAULT_MIGRATE_EVERY = 20
_DEFAULT_MIGRANTS = 2


def _add_dask_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "Dask cluster", "run on a Dask cluster (needs: pip install 'swarmjac[dask]'); there --threads is the "
                        "kernel threads of each task (default 1)")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786")
    where.add_argument("--local-cluster", metavar="N", type=int, default=None,
                       help="start a Dask cluster of N local worker processes (1 thread each, loopback only)")
    group.add_argument("--islands", metavar="K", type=int, default=None,
                       help="island-model PSO: K sub-swarms of PARTICLES/K particles, one Dask task per island "
                            "and epoch (default: one swarm, its evaluations split over the workers)")
    group.add_argument("--migrate-every", metavar="ITERS", type=int, default=None,
                       help=f"with --islands: iterations between migrations (default {_DEFAULT_MIGRATE_EVERY})")
    group.add_argument("--migrants", metavar="M", type=int, default=None,
                       help=f"with --islands: best particles each island sends to the next one on the ring "
                            f"(default {_DEFAULT_MIGRANTS}, at most half an island)")


def _uses_dask(args: argparse.Namespace) -> bool:
    """Whether ``fit`` runs on a Dask cluster; rejects bad Dask options before any cluster starts."""
    on_cluster = args.scheduler is not None or args.local_cluster is not None
    if args.local_cluster is not None and args.local_cluster < 1:
        raise CLIError(f"--local-cluster needs at least 1 worker, got {args.local_cluster}")
    if args.islands is None:
        given = [flag for flag, value in (("--migrate-every", args.migrate_every), ("--migrants", args.migrants))
                 if value is not None]
        if given:
            raise CLIError(f"{' and '.join(given)} only apply with --islands")
        if on_cluster:
            _require_dask()
        return on_cluster
    if not on_cluster:
        raise CLIError("--islands runs the islands on a Dask cluster: add --scheduler ADDRESS or --local-cluster N")
    if args.checkpoint is not None or args.resume is not None:
        raise CLIError("--checkpoint and --resume are not supported with --islands")
    if args.islands < 1:
        raise CLIError(f"--islands must be >= 1, got {args.islands}")
    if args.particles < args.islands:
        raise CLIError(f"--particles {args.particles} gives no particle to each of --islands {args.islands}")
    _require_dask()
    return True


def _require_dask() -> None:
    """Fail with the install hint, before any work, when dask.distributed is not installed."""
    # find_spec returns None for a missing package (and for one blocked by sys.modules[name] = None);
    # dask.distributed is a shim over the separate `distributed` package, so both must be there.
    if any(importlib.util.find_spec(name) is None for name in ("dask", "distributed")):
        raise CLIError("swarmjac.distributed needs dask.distributed, which is not installed: "
                       "pip install 'swarmjac[dask]'")


@contextlib.contextmanager
def _dask_client(args: argparse.Namespace) -> Iterator:
    """A Dask client: connected to ``--scheduler``, or to a new ``--local-cluster`` closed afterwards."""
    _require_dask()
    distributed = importlib.import_module("dask.distributed")
    if args.scheduler is not None:
        try:
            client = distributed.Client(args.scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise CLIError(f"cannot connect to the Dask scheduler at {args.scheduler}: {exc}") from None
        with client:
            yield client
        return
    with distributed.LocalCluster(
            n_workers=args.local_cluster, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=logging.ERROR,
            # the scheduler's remaining HTTP endpoints (health, metrics): a free loopback port, not :8787
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as cluster, distributed.Client(cluster) as client:
        yield client


def _fit_on_dask(args: argparse.Namespace, net, data, fit_arguments: dict):
    """``swarmjac fit`` on a Dask cluster: one swarm through a DaskObjective, or ``--islands``."""
    import swarmjac as sj

    with _dask_client(args) as client:
        if not args.quiet:
            nthreads = client.nthreads()
            print(f"dask: scheduler {client.scheduler.address}, {len(nthreads)} workers, "
                  f"{sum(nthreads.values())} threads", file=sys.stderr)
        if args.islands is not None:
            return _fit_islands(args, net, data, client)
        # The same swarm and run as a local `swarmjac fit`: only where the fitness is computed changes.
        return sj.fit(net, data, client=client, **fit_arguments)


def _fit_islands(args: argparse.Namespace, net, data, client):
    from swarmjac.distributed import island_fit

    per_island = args.particles // args.islands  # >= 1, checked by _uses_dask
    migrate_every = _DEFAULT_MIGRATE_EVERY if args.migrate_every is None else args.migrate_every
    migrants = min(_DEFAULT_MIGRANTS, per_island // 2) if args.migrants is None else args.migrants
    n_epochs = max(-(-args.iters // max(migrate_every, 1)), 1)
    if not args.quiet:
        print(f"islands: {args.islands} x {per_island} particles, {migrants} migrants every {migrate_every} "
              f"iterations", file=sys.stderr)

    def report(epoch: int, iteration: int, best_costs: np.ndarray) -> None:
        if not args.quiet and (epoch == n_epochs or epoch % max(n_epochs // 10, 1) == 0):
            print(f"  iteration {iteration}/{args.iters}: best {best_costs.min():.6g} "
                  f"(islands: {', '.join(f'{c:.3g}' for c in best_costs)})", file=sys.stderr)

    # island_fit returns a FitResult (an IslandResult), read like the result of sj.fit.
    return island_fit(client, net, data, n_islands=args.islands, migrate_every=migrate_every, n_migrants=migrants,
                      n_particles_per_island=per_island, iters=args.iters, seed=args.seed, n_threads=args.threads,
                      topology=args.topology, callback=report, **_trainer_options(args))


def _flag(keyword: str) -> str:
    return "--" + keyword.replace("_", "-")


def _run_predict(args: argparse.Namespace) -> int:
    import swarmjac as sj
    from swarmjac.csvfile import read_csv, write_csv

    # One read of the file, a single model or an ensemble (a single model is an ensemble of one member).
    ensemble, metadata = sj.load_ensemble(args.model, with_metadata=True)
    net = ensemble.net
    inputs = _model_names(metadata, "inputs", net.d_in, [f"x{j + 1}" for j in range(net.d_in)], args.model)
    outputs = _model_names(metadata, "outputs", net.d_out,
                           ["y"] if net.d_out == 1 else [f"y{k + 1}" for k in range(net.d_out)], args.model)
    header, table = read_csv(args.points)
    missing = [name for name in inputs if name not in header]
    if missing:
        if len(header) == net.d_in and not any(name in header for name in inputs):
            inputs = header  # an unlabelled file with exactly the right number of columns
        else:
            raise CLIError(f"{args.points}: the model needs input columns {inputs}; missing {missing} "
                           f"(columns are {header})")
    X = table[:, [header.index(name) for name in inputs]]
    if not np.all(np.isfinite(X)):
        raise CLIError(f"{args.points}: input columns must be filled with finite numbers")
    # Columns: inputs, (mean) values, [(mean) partials d<output>/d<input>], and for an ensemble of more than
    # one member the spreads std(<column>) of each predicted column, in the same order.
    predicted = list(outputs)
    if args.jacobian:
        predicted += [f"d{o}/d{i}" for o in outputs for i in inputs]
    spread = ensemble.size > 1
    columns = list(inputs) + predicted + ([f"std({name})" for name in predicted] if spread else [])
    if args.jacobian:
        Y, J, *spreads = ensemble.value_and_jacobian(X, return_std=spread)
        parts = [X, Y, J.reshape(len(X), -1)]
        if spread:
            parts += [spreads[0], spreads[1].reshape(len(X), -1)]
    else:
        predictions = ensemble.predict(X, return_std=spread)
        parts = [X, *predictions] if spread else [X, predictions]
    write_csv(args.output if args.output else sys.stdout, columns, np.hstack(parts))
    return EXIT_OK


def _model_names(metadata: dict, key: str, count: int, default: list[str], path: str) -> list[str]:
    """The input or output names stored with a model, or ``default`` for a model saved without them."""
    names = metadata.get(key)
    if not names:
        return default
    if not isinstance(names, list) or len(names) != count or not all(isinstance(n, str) and n for n in names):
        raise CLIError(f"{path}: the model's {key!r} metadata must be {count} non-empty names, got {names!r}")
    return names


_COMMANDS = {"demo": _run_demo, "fit": _run_fit, "predict": _run_predict}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``swarmjac`` command; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 for a user error (missing file, malformed CSV, ...), 2 for bad usage,
        130 when interrupted (the best result so far is saved first).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except CLIError as exc:
        print(f"swarmjac: error: {exc}", file=sys.stderr)
    except (OSError, ValueError, TypeError, ImportError, MemoryError) as exc:
        print(f"swarmjac: error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("swarmjac: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
