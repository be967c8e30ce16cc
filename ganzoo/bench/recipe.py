"""What a row's recipe adds to its variant's paper recipe, read from the run's recorded config.

A variant's paper recipe is its constructor defaults (each variant's docstring cites the
paper), overlaid with the class's ``paper_recipe`` where the defaults are not the paper's
(VanillaGAN defaults to the non-saturating loss with Adam; its paper's Algorithm 1 is the
minimax loss with SGD, ``VanillaGAN.paper_recipe``): :func:`paper_recipe`.
A row label that names only the variant hides what else the row trains with: G's moving
average, extra loss terms, other learning rates or widths. :func:`extras` lists every
difference, as tokens for the label (``InfoGAN +CatGAN(3) +IMSAT(3) +q_aug(shape) +EMA``) and a
footnote each: every model argument whose value differs from the class default
(``lr_g=0.001``, with the default in the footnote), every trick (``model.init_args.tricks``,
``q_augment``, a loss chosen by ``class_path``) and every trick chosen as a callback
(``trainer.callbacks``), by its class's ``short`` name with the arguments it changes from their
defaults, and a numeric precision other than float32 (``trainer.precision``: ``+bf16-mixed``).
:func:`is_conditional` tells the label-supervised rows, which tables keep in a block of their
own. Nothing in the stack derives this; it reads classes by ``class_path`` only.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from dataclasses import dataclass
from functools import cache
from typing import Any

# arguments that describe the data or the evaluation, not the recipe, or a switch whose
# effects are other arguments (VanillaGAN's algorithm1 sets loss, optimizer, lr_g and lr_d)
NOT_RECIPE = ("data_shape", "num_classes", "num_fixed_samples", "tricks", "q_augment", "loss",
              "algorithm1")
# Lightning's float32 precision, however a config names it (None: Lightning's default)
FLOAT32 = (None, 32, "32", "32-true")
# optimizer fields an optimizer does not read (OptimizerSpec.build): no token for them
UNUSED = {"adam": ("momentum",), "sgd": ("betas", "fused"), "rmsprop": ("betas", "fused")}


@dataclass(frozen=True)
class Extra:
    token: str  # as the row label shows it, after a "+"
    note: str  # the footnote: what it is, with its value and the paper's
    paper: str = ""  # for a changed argument: "<class> <its default>", joined across rows


def load(class_path: str) -> type | None:
    module, _, name = str(class_path).rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None


@cache
def defaults(cls: type) -> dict[str, Any]:
    """Every constructor default of ``cls`` and the classes its ``**kwargs`` reach (the
    subclass's value first), dataclass defaults flattened to ``key.field``."""
    found: dict[str, Any] = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        for name, param in inspect.signature(klass.__init__).parameters.items():
            # None: "the base class's value" (VanillaGAN without algorithm1)
            if param.default is inspect.Parameter.empty or found.get(name) is not None:
                continue
            value = param.default
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                for key, item in dataclasses.asdict(value).items():
                    found.setdefault(f"{name}.{key}", item)
            found[name] = value
    return found


@cache
def paper_recipe(cls: type) -> dict[str, Any]:
    """:func:`defaults` with the class's ``paper_recipe`` (init arguments, dataclasses
    flattened the same way) over them: the recipe a row's label is the difference to."""
    found = dict(defaults(cls))
    for name, value in (getattr(cls, "paper_recipe", None) or {}).items():
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            found.update({f"{name}.{key}": item for key, item in dataclasses.asdict(value).items()})
        found[name] = value
    return found


def same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))
    return a == b


def value_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def attachment(entry: dict[str, Any], where: str) -> Extra:
    """A trick chosen by ``class_path``: its short name and the arguments it changes."""
    cls = load(entry.get("class_path", ""))
    name = getattr(cls, "short", None) or str(entry.get("class_path", "?")).rsplit(".", 1)[-1]
    base = defaults(cls) if cls is not None else {}
    args = {k: v for k, v in (entry.get("init_args") or {}).items()
            if not (k in base and same(v, base[k]))}
    token = f"{name}({', '.join(value_text(v) for v in args.values())})" if args else name
    doc = (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ").split(". ")[0] if cls else ""
    settings = ", ".join(f"{k}={value_text(v)}" for k, v in (entry.get("init_args") or {}).items())
    return Extra(token, f"{entry.get('class_path')}({settings}) in {where}: {doc}".rstrip(": "))


def extras(config: dict[str, Any]) -> list[Extra]:
    """The differences of a recorded run config from its variant's paper recipe."""
    model = config.get("model") or {}
    cls = load(model.get("class_path", ""))
    init = model.get("init_args") or {}
    found: list[Extra] = []
    for item in init.get("tricks") or []:
        found.append(attachment(item, "model.init_args.tricks"))
    if isinstance(init.get("q_augment"), dict):
        found.append(attachment(init["q_augment"], "model.init_args.q_augment"))
    loss = init.get("loss")
    if isinstance(loss, dict) and str(loss.get("class_path", "")).startswith("ganzoo.tricks."):
        found.append(attachment(loss, "model.init_args.loss"))  # not a variant's own loss
    callbacks = (config.get("trainer") or {}).get("callbacks") or []
    for item in callbacks if isinstance(callbacks, list) else [callbacks]:
        if isinstance(item, dict) and str(item.get("class_path", "")).startswith("ganzoo.tricks."):
            found.append(attachment(item, "trainer.callbacks"))
    precision = (config.get("trainer") or {}).get("precision")
    if precision not in FLOAT32:  # autocast or half weights change the numbers computed
        found.append(Extra(str(precision), f"trainer.precision = {precision} (Lightning's "
                           "precision plugin; the papers train in float32)", "float32"))
    paper = paper_recipe(cls) if cls is not None else {}
    flat = {}
    for key, value in init.items():
        if isinstance(value, dict) and key not in NOT_RECIPE:
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    if flat.get("g_width") is not None and flat.get("g_width") == flat.get("d_width") and not same(
            flat["g_width"], paper.get("g_width")) and same(paper.get("g_width"), paper.get("d_width")):
        width = flat.pop("g_width")
        flat.pop("d_width")
        found.append(Extra(f"width={width}", f"model.init_args.g_width = d_width = {width}",
                           f"{cls.__name__} {paper['g_width']}"))
    unused = {f"optimizer.{f}" for f in UNUSED.get(str(flat.get("optimizer.name")), ())}
    for key, value in flat.items():
        if (key.split(".")[0] in NOT_RECIPE or key not in paper or value is None
                or same(value, paper[key]) or key in unused):
            continue
        short = "optimizer" if key == "optimizer.name" else key.rsplit(".", 1)[-1]
        found.append(Extra(f"{short}={value_text(value)}",
                           f"model.init_args.{key} = {value_text(value)}",
                           f"{cls.__name__} {value_text(paper[key])}"))
    if isinstance(init.get("loss"), str) and "loss" in paper and init["loss"] != paper["loss"]:
        found.append(Extra(f"loss={init['loss']}", f"model.init_args.loss = {init['loss']}",
                           f"{cls.__name__} {paper['loss']}"))
    return found


def label(variant: str, config: dict[str, Any]) -> str:
    """``variant`` with a ``+token`` per extra: the recipe the row trains with."""
    return " ".join([variant, *(f"+{e.token}" for e in extras(config))])


def is_conditional(config: dict[str, Any]) -> bool:
    """Whether the row's model trains on the class labels (a label-supervised row)."""
    cls = load((config.get("model") or {}).get("class_path", ""))
    return bool(cls is not None and getattr(cls, "conditional", False))
