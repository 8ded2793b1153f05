"""The rewrites, each declared once with the scan rule it clears and where its result works.

A rewrite touches only the places ``scan`` reported with confidence, found again in a
LibCST tree by the position of the finding, so a user's own ``fit_generator`` method or
``torch.optim.Adam(lr=...)`` is never edited: scan does not report them, or reports them
as unsure. Everything else in the file (comments, spacing, quotes) is kept as written.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
from collections.abc import Callable, Collection, Sequence

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from pytest_kerascompat.commands.fix.window import Window
from pytest_kerascompat.commands.scan import Finding, scan_module
from pytest_kerascompat.commands.scan.facts import DATASET_BASES, FileFacts
from pytest_kerascompat.commands.scan.sources import Module, source_lines
from pytest_kerascompat.model.changes import (
    GENERATOR_METHODS,
    OPTIMIZER_ALIASES,
    OPTIMIZERS,
    KnownChange,
)

Edit = Callable[[cst.CSTNode], cst.CSTNode]


@dataclasses.dataclass(frozen=True)
class Rewrite:
    """One mechanical fix: the scan rule it clears, what it does, and where the result works.

    ``requires`` holds the requirements every supported release must meet for the new
    spelling to work (and behave as the old one did); outside them it is not applied.
    """

    name: str
    rule: str
    does: str
    requires: tuple[str, ...] = ()


REWRITES: tuple[Rewrite, ...] = (
    Rewrite(
        "fit_generator",
        "fit_generator",
        "`m.fit_generator(g, n, ...)` to `m.fit(g, steps_per_epoch=n, ...)`; "
        "`generator=` to `x=`, Keras 1's `nb_epoch=`, `nb_worker=`, `pickle_safe=` to "
        "`epochs=`, `workers=`, `use_multiprocessing=`",
        ("tensorflow>=1.15",),
    ),
    Rewrite(
        "evaluate_generator",
        "evaluate_generator",
        "`m.evaluate_generator(g, n)` to `m.evaluate(g, steps=n, verbose=0)` "
        "(verbose=0 was its default)",
        ("tensorflow>=1.15",),
    ),
    Rewrite(
        "predict_generator",
        "predict_generator",
        "`m.predict_generator(g, n)` to `m.predict(g, steps=n, verbose=0)`",
        ("tensorflow>=1.15",),
    ),
    Rewrite(
        "optimizer_lr",
        "optimizer_lr",
        "`lr=` to `learning_rate=` on Keras optimizers; Keras 2's lowercase aliases "
        "(`keras.optimizers.adam`) to their classes (`keras.optimizers.Adam`)",
        ("tensorflow>=2.0",),
    ),
    Rewrite(
        "predict_classes",
        "predict_classes",
        "`m.predict_classes(x)` to `m.predict(x, verbose=0).argmax(axis=-1)` when the file's "
        'activations are softmax, `(m.predict(x, verbose=0) > 0.5).astype("int32")` when sigmoid',
    ),
    Rewrite(
        "image_data_generator",
        "image_data_generator",
        "`from keras.preprocessing.image import ...` to `from tensorflow.keras.preprocessing.image "
        "import ...`; `keras.preprocessing.image.ImageDataGenerator` to `tf.keras....`",
        ("tensorflow>=1.15",),
    ),
    Rewrite(
        "from_generator_output_signature",
        "from_generator_output_types",
        "`Dataset.from_generator(g, output_types=T, output_shapes=S)` to "
        "`output_signature=tf.TensorSpec(shape=S, dtype=T)` (tuples and dicts element by element)",
        ("tensorflow>=2.4",),
    ),
    Rewrite(
        "sequence_super_init",
        "sequence_super_init",
        "a `Sequence`/`PyDataset` subclass's `__init__` takes `**kwargs` and starts with "
        "`super().__init__(**kwargs)`",
    ),
    Rewrite(
        "fit_workers_defaults",
        "fit_workers",
        "`workers=1`, `use_multiprocessing=False`, `max_queue_size=10` (the defaults) dropped "
        "from `fit`/`evaluate`/`predict`",
    ),
    Rewrite(
        "fit_workers_move",
        "fit_workers",
        "other `workers=`/`use_multiprocessing=`/`max_queue_size=` moved from `fit` to the "
        "constructor of the `Sequence`/`PyDataset` this file defines",
        ("keras>=3",),
    ),
)
BY_NAME = {rewrite.name: rewrite for rewrite in REWRITES}
FIXABLE_RULES = frozenset(rewrite.rule for rewrite in REWRITES)

RENAMED_METHODS = {
    "fit_generator": "fit",
    "evaluate_generator": "evaluate",
    "predict_generator": "predict",
}
# Positional parameters that mean the same in every Keras 2 release (later ones moved).
GENERATOR_POSITIONS = {
    "fit_generator": (
        "x", "steps_per_epoch", "epochs", "verbose", "callbacks", "validation_data",
        "validation_steps",
    ),
    "evaluate_generator": ("x", "steps"),
    "predict_generator": ("x", "steps"),
}  # fmt: skip
RENAMED_KEYWORDS = {
    "generator": "x",
    "nb_epoch": "epochs",
    "nb_worker": "workers",
    "pickle_safe": "use_multiprocessing",
}
# Keras 1 counted samples, not steps: no mechanical equivalent.
SAMPLE_COUNTS = ("samples_per_epoch", "nb_val_samples", "val_samples")
QUIET_BY_DEFAULT = ("evaluate_generator", "predict_generator", "predict_classes")
# keras.optimizers.rmsprop to its class, keras.optimizers.RMSprop.
OPTIMIZER_CLASSES = {
    alias: next(name for name in OPTIMIZERS if name.lower() == alias) for alias in OPTIMIZER_ALIASES
}
QUEUE_DEFAULTS = {"workers": "1", "use_multiprocessing": "False", "max_queue_size": "10"}
QUEUE_KEYWORDS = tuple(QUEUE_DEFAULTS)
METHOD_RULES = (*GENERATOR_METHODS, "predict_classes")
DATA_METHODS = ("fit", "evaluate", "predict", *GENERATOR_METHODS)
# Past this many characters from the line's indentation, a signature is laid out one per line.
SIGNATURE_WIDTH = 60
OLD_IMAGE_MODULE = "keras.preprocessing.image"
NEW_IMAGE_MODULE = "tensorflow.keras.preprocessing.image"


@dataclasses.dataclass(frozen=True)
class Fixed:
    """A finding cleared, by which rewrite."""

    finding: Finding
    rewrite: Rewrite


@dataclasses.dataclass(frozen=True)
class Left:
    """A finding left for a person, and why no rewrite was made."""

    finding: Finding
    reason: str


@dataclasses.dataclass
class SourceFix:
    """One file's (or notebook cell's) text before and after, and what became of each finding."""

    before: str
    after: str
    fixed: list[Fixed] = dataclasses.field(default_factory=list)
    left: list[Left] = dataclasses.field(default_factory=list)


class Refused(Exception):
    """This occurrence cannot be rewritten mechanically; the message says why."""


def fix_source(text: str, path: str, window: Window, rules: Sequence[KnownChange]) -> SourceFix:
    """Rewrite in memory the confident findings of ``rules`` in ``text`` that ``window`` allows."""
    tree = ast.parse(text, filename=path)
    findings = scan_module(Module(path, tree, source_lines(text)), rules)
    result = SourceFix(text, text)
    if not findings:
        return result
    try:
        wrapper = MetadataWrapper(cst.parse_module(text))
    except cst.ParserSyntaxError as error:
        why = f"LibCST cannot parse this file, so nothing in it is rewritten: {error.message}"
        result.left = [Left(finding, why) for finding in findings]
        return result
    planner = Planner(findings, FileFacts(tree), window, source_lines(text))
    wrapper.visit(planner)
    if planner.edits:
        result.after = wrapper.module.visit(Applier(planner.edits)).code
        unparsable = not_python(result.after, path)
        if unparsable:  # a bug of a rewrite: keep the file as it was, and say so
            result.after = text
            result.left = [Left(finding, unparsable) for finding in findings]
            return result
    result.fixed = planner.fixed
    result.left = planner.left + [
        Left(finding, unclaimed_reason(finding))
        for finding in findings
        if finding not in planner.claimed
    ]
    return result


def not_python(text: str, path: str) -> str | None:
    """Why the rewritten text is not Python (None when it parses)."""
    try:
        ast.parse(text, filename=path)
    except SyntaxError as error:
        return (
            f"the rewrites of this file did not parse ({error.msg}, line {error.lineno}): "
            "nothing in it was rewritten; please report this"
        )
    return None


def unclaimed_reason(finding: Finding) -> str:
    if not finding.confident:
        return f"not sure this is Keras's: {finding.message}; fix it by hand if it is"
    if finding.rule not in FIXABLE_RULES:
        return f"no mechanical rewrite: {finding.fix}"
    return f"this form is not rewritten: {finding.fix}"


class Applier(cst.CSTTransformer):
    """Applies the planned edits to the nodes they were planned for."""

    def __init__(self, edits: dict[cst.CSTNode, list[Edit]]) -> None:
        super().__init__()
        self.edits = edits

    # An edit may return another kind of node (a call becomes a comparison); LibCST allows it.
    def on_leave(  # type: ignore[override]
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode:
        for edit in self.edits.get(original_node, ()):
            updated_node = edit(updated_node)
        return updated_node


class Planner(cst.CSTVisitor):
    """Finds each confident finding's node and plans its edit, or records why there is none."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(
        self,
        findings: list[Finding],
        facts: FileFacts,
        window: Window,
        lines: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.findings = {
            (finding.rule, finding.line, finding.column - 1): finding
            for finding in findings
            if finding.confident
        }
        self.facts = facts
        self.window = window
        self.edits: dict[cst.CSTNode, list[Edit]] = {}
        self.fixed: list[Fixed] = []
        self.left: list[Left] = []
        self.claimed: set[Finding] = set()
        self.tensorflow = tensorflow_alias(facts)
        self.lines = lines
        self.activations: set[str] = set()
        self.datasets: dict[str, cst.ClassDef] = {}
        self.constructions: dict[str, list[cst.Call]] = {}
        self.super_inits: set[str] = set()
        self.moved_to: set[cst.Call] = set()

    # --- bookkeeping ------------------------------------------------------------------

    def finding(self, rule: str, node: cst.CSTNode, *, any_column: bool = False) -> Finding | None:
        start = self.position(node).start
        if any_column:
            return next(
                (
                    f
                    for (r, line, _), f in self.findings.items()
                    if r == rule and line == start.line
                ),
                None,
            )
        return self.findings.get((rule, start.line, start.column))

    def indent(self, node: cst.CSTNode) -> str:
        """The indentation of the line ``node`` starts on."""
        line = self.position(node).start.line
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return text[: len(text) - len(text.lstrip())]

    def position(self, node: cst.CSTNode) -> CodeRange:
        return self.get_metadata(PositionProvider, node)

    def plan(self, finding: Finding, name: str, edits: Sequence[tuple[cst.CSTNode, Edit]]) -> bool:
        """Record the edits for ``finding`` unless the window or the command refuses them."""
        rewrite = BY_NAME[name]
        self.claimed.add(finding)
        refusal = self.window.refusal(rewrite.requires)
        if refusal is not None:
            self.left.append(Left(finding, f"{name} {refusal}"))
            return False
        for node, edit in edits:
            self.edits.setdefault(node, []).append(edit)
        self.fixed.append(Fixed(finding, rewrite))
        return True

    def leave(self, finding: Finding, reason: str) -> None:
        self.claimed.add(finding)
        self.left.append(Left(finding, reason))

    # --- what the whole file says -------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        """Gather, before any edit is planned, what edits depend on elsewhere in the file."""
        gatherer = Gatherer(set(self.facts.datasets))
        node.visit(gatherer)
        self.activations = gatherer.activations
        self.datasets = gatherer.datasets
        self.constructions = gatherer.constructions

    # --- calls --------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            found = self.finding(method, func.attr) if method in METHOD_RULES else None
            if found is not None:
                self.try_plan(found, functools.partial(self.plan_method, found, node, method))
            if method in DATA_METHODS:
                self.plan_queue(node)
            if method == "from_generator":
                self.plan_from_generator(node)
        self.plan_lr(node)

    def try_plan(self, finding: Finding, planner: Callable[[], object]) -> None:
        try:
            planner()
        except Refused as refused:
            self.leave(finding, str(refused))

    def plan_method(self, finding: Finding, call: cst.Call, method: str) -> None:
        if method == "predict_classes":
            self.plan(finding, "predict_classes", [(call, predict_classes_edit(call, self))])
        else:
            self.plan(finding, method, [(call, generator_edit(call, method))])

    def plan_lr(self, call: cst.Call) -> None:
        lr = next((arg for arg in call.args if arg.keyword and arg.keyword.value == "lr"), None)
        found = self.finding("optimizer_lr", lr) if lr else None
        if found is None:
            return
        self.try_plan(found, lambda: self.plan(found, "optimizer_lr", [(call, lr_edit(call))]))

    def plan_queue(self, call: cst.Call) -> None:
        passed = [arg for arg in call.args if arg.keyword and arg.keyword.value in QUEUE_KEYWORDS]
        found = self.finding("fit_workers", passed[0]) if passed else None
        if found is None:
            return
        if all(is_default(arg) for arg in passed):
            self.plan(found, "fit_workers_defaults", [(call, without_keywords(QUEUE_KEYWORDS))])
            return
        self.try_plan(found, lambda: self.plan_move(found, call, passed))

    def plan_move(self, finding: Finding, call: cst.Call, passed: list[cst.Arg]) -> None:
        construction = self.dataset_construction(call)
        cls = construction.func
        assert isinstance(cls, cst.Name)
        left_on = f"workers=/use_multiprocessing=/max_queue_size= left on {method_of(call)}()"
        init = init_of(self.datasets[cls.value])
        if self.local_bases(cls.value):
            raise Refused(f"{left_on}: {cls.value} derives from a class of this file")
        if init is not None and not forwards_kwargs(init) and cls.value not in self.super_inits:
            raise Refused(
                f"{left_on}: {cls.value}.__init__ must pass **kwargs to super().__init__ "
                "to take them"
            )
        given = {arg.keyword.value for arg in construction.args if arg.keyword}
        if construction in self.moved_to or given & set(QUEUE_KEYWORDS):
            raise Refused(f"{left_on}: this {cls.value}(...) already has them")
        self.moved_to.add(construction)
        self.plan(
            finding,
            "fit_workers_move",
            [(call, without_keywords(QUEUE_KEYWORDS)), (construction, with_arguments(passed))],
        )

    def local_bases(self, name: str) -> list[ast.expr]:
        """The bases of dataset class ``name`` that are not Keras's (the file's own classes)."""
        bases = self.facts.datasets[name].bases
        return [base for base in bases if not (self.facts.qualified(base) & DATASET_BASES)]

    def dataset_construction(self, call: cst.Call) -> cst.Call:
        """The ``MyDataset(...)`` call whose result ``call`` fits on, if this file shows it."""
        data = call.args[0].value if call.args and not call.args[0].keyword else None
        data = data or next(
            (a.value for a in call.args if a.keyword and a.keyword.value == "x"), None
        )
        if is_call_of(data, self.datasets):
            assert isinstance(data, cst.Call)
            return data
        if isinstance(data, cst.Name) and len(self.constructions.get(data.value, ())) == 1:
            return self.constructions[data.value][0]
        raise Refused(
            f"workers=/use_multiprocessing=/max_queue_size= left on {method_of(call)}(): Keras 3 "
            "takes them in PyDataset.__init__, and the data here is not a Sequence/PyDataset "
            "this file defines and constructs once; pass them to its constructor by hand"
        )

    def plan_from_generator(self, call: cst.Call) -> None:
        types = argument(call, "output_types", 1)
        if types is None:
            return
        found = self.finding("from_generator_output_types", types)
        if found is None:
            return
        self.try_plan(
            found,
            lambda: self.plan(
                found,
                "from_generator_output_signature",
                [(call, signature_edit(call, self.tensorflow, self.indent(types)))],
            ),
        )

    # --- imports and names ----------------------------------------------------------------

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar) or node.module is None or node.relative:
            return
        for alias in node.names:
            found = self.finding("image_data_generator", alias)
            if found is None:
                continue
            module = dotted(node.module)
            if module == OLD_IMAGE_MODULE:
                new = cst.parse_expression(NEW_IMAGE_MODULE)
                self.plan(found, "image_data_generator", [(node, replace_module(new))])
            elif module == "keras.preprocessing" and len(node.names) == 1:
                new = cst.parse_expression("tensorflow.keras.preprocessing")
                self.plan(found, "image_data_generator", [(node, replace_module(new))])
            else:
                self.leave(found, f"import of {module} not rewritten: import "
                           f"ImageDataGenerator from {NEW_IMAGE_MODULE} by hand")  # fmt: skip

    def visit_Attribute(self, node: cst.Attribute) -> None:
        found = self.finding("image_data_generator", node)
        if found is None:
            return
        root: cst.BaseExpression = node
        while isinstance(root, cst.Attribute):
            root = root.value
        if self.tensorflow is None or not isinstance(root, cst.Name):
            self.leave(found, "this file does not import tensorflow: write "
                       "tf.keras.preprocessing.image.ImageDataGenerator by hand")  # fmt: skip
            return
        tf_keras = cst.Attribute(cst.Name(self.tensorflow), cst.Name("keras"))
        self.plan(found, "image_data_generator", [(root, lambda _: tf_keras)])

    # --- classes --------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.name.value != "__init__":
            return
        found = self.finding("sequence_super_init", node.name, any_column=True)
        if found is None:
            return
        owner = next((c for c in self.datasets.values() if init_of(c) is node), None)
        if owner is None:
            return
        self.try_plan(found, lambda: self.plan_super_init(found, owner, node))

    def plan_super_init(self, finding: Finding, cls: cst.ClassDef, init: cst.FunctionDef) -> None:
        local = self.local_bases(cls.name.value)
        if local:
            raise Refused(
                f"{cls.name.value} derives from {ast.unparse(local[0])}, a class of this file: "
                "call its __init__ with the arguments it needs by hand"
            )
        if not isinstance(init.body, cst.IndentedBlock):
            raise Refused(
                f"{cls.name.value}.__init__ is on one line: add super().__init__() by hand"
            )
        if self.plan(finding, "sequence_super_init", [(init, super_init_edit)]):
            self.super_inits.add(cls.name.value)


class Unindented(cst.CSTTransformer):
    """New lines inside generated code carry their whole indentation, not the block's plus it."""

    def leave_ParenthesizedWhitespace(
        self, original_node: cst.ParenthesizedWhitespace, updated_node: cst.ParenthesizedWhitespace
    ) -> cst.ParenthesizedWhitespace:
        return updated_node.with_changes(indent=False)


class Gatherer(cst.CSTVisitor):
    """The file's activations, its dataset classes, and each name bound to one's construction."""

    def __init__(self, dataset_names: set[str]) -> None:
        super().__init__()
        self.dataset_names = dataset_names
        self.activations: set[str] = set()
        self.datasets: dict[str, cst.ClassDef] = {}
        self.constructions: dict[str, list[cst.Call]] = {}

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = node.evaluated_value
        if value in ("softmax", "sigmoid"):
            self.activations.add(str(value))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if node.name.value in self.dataset_names:
            self.datasets.setdefault(node.name.value, node)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                # Bound to anything else too, the name is no longer one construction.
                value = node.value
                bound = value if is_call_of(value, self.dataset_names) else cst.Call(cst.Name("_"))
                assert isinstance(bound, cst.Call)
                self.constructions.setdefault(target.target.value, []).append(bound)


# --- the edits ---------------------------------------------------------------------------


def generator_edit(call: cst.Call, method: str) -> Edit:
    """``fit_generator`` to ``fit``: positional arguments past the first named, Keras 1 keywords
    renamed; refused where a sample count or ``*args`` hides what is passed."""
    positions = GENERATOR_POSITIONS[method]
    positional = [arg for arg in call.args if not arg.keyword]
    if any(arg.star for arg in call.args):
        raise Refused(f"{method}() is called with *args or **kwargs: rename it by hand")
    if len(positional) > len(positions):
        raise Refused(
            f"{method}() has {len(positional)} positional arguments, and only the first "
            f"{len(positions)} mean the same in every Keras 2 release: name them, then run fix"
        )
    counted = [
        arg.keyword.value for arg in call.args if arg.keyword and arg.keyword.value in SAMPLE_COUNTS
    ]
    if counted:
        raise Refused(f"{method}() counts samples ({counted[0]}=), Keras 2 counts steps: by hand")
    quiet = method in QUIET_BY_DEFAULT

    def edit(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.Call)
        assert isinstance(node.func, cst.Attribute)
        args = []
        for index, arg in enumerate(node.args):
            if arg.keyword is None and index > 0:
                arg = keyword_argument(arg, positions[index])
            elif arg.keyword is not None and arg.keyword.value in RENAMED_KEYWORDS:
                arg = arg.with_changes(keyword=cst.Name(RENAMED_KEYWORDS[arg.keyword.value]))
            args.append(arg)
        node = node.with_changes(
            func=node.func.with_changes(attr=cst.Name(RENAMED_METHODS[method])), args=args
        )
        return with_default_verbose(node) if quiet else node

    return edit


def predict_classes_edit(call: cst.Call, planner: Planner) -> Edit:
    """``predict_classes`` did argmax for several outputs and a 0.5 threshold for one; which
    one a model needs is read from the file's activations, or the call is left alone."""
    if any(arg.star for arg in call.args):
        raise Refused("predict_classes() is called with *args or **kwargs: rewrite it by hand")
    activations = planner.activations
    if len(activations) != 1:
        seen = " and ".join(sorted(activations)) or "neither"
        raise Refused(
            f"this file has {seen} of softmax and sigmoid, so whether predict_classes meant "
            "argmax or a 0.5 threshold is not known: rewrite it by hand"
        )
    softmax = activations == {"softmax"}

    def edit(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.Call)
        assert isinstance(node.func, cst.Attribute)
        predict = with_default_verbose(
            node.with_changes(func=node.func.with_changes(attr=cst.Name("predict")))
        )
        if softmax:
            return cst.Call(
                func=cst.Attribute(predict, cst.Name("argmax")),
                args=[cst.Arg(cst.UnaryOperation(cst.Minus(), cst.Integer("1")),
                              keyword=cst.Name("axis"), equal=tight_equal())],
            )  # fmt: skip
        above = cst.Comparison(
            predict,
            [cst.ComparisonTarget(cst.GreaterThan(), cst.Float("0.5"))],
            lpar=[cst.LeftParen()],
            rpar=[cst.RightParen()],
        )
        return cst.Call(
            func=cst.Attribute(above, cst.Name("astype")),
            args=[cst.Arg(cst.SimpleString('"int32"'))],
        )

    return edit


def lr_edit(call: cst.Call) -> Edit:
    names = {arg.keyword.value for arg in call.args if arg.keyword}
    if "learning_rate" in names:
        raise Refused("the optimizer is given both lr= and learning_rate=: keep one by hand")
    func = call.func
    if isinstance(func, cst.Name) and func.value in OPTIMIZER_CLASSES:
        raise Refused(
            f"{func.value} is imported by its lowercase Keras 2 alias: import "
            f"{OPTIMIZER_CLASSES[func.value]} instead, by hand"
        )

    def edit(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.Call)
        args = [
            arg.with_changes(keyword=cst.Name("learning_rate"))
            if arg.keyword and arg.keyword.value == "lr"
            else arg
            for arg in node.args
        ]
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in OPTIMIZER_CLASSES:
            func = func.with_changes(attr=cst.Name(OPTIMIZER_CLASSES[func.attr.value]))
        return node.with_changes(func=func, args=args)

    return edit


def signature_edit(call: cst.Call, tensorflow: str | None, indent: str = "") -> Edit:
    """``output_types``/``output_shapes`` to one ``output_signature`` of ``tf.TensorSpec``s;
    one spec per line when they would not fit on the argument's line."""
    if tensorflow is None:
        raise Refused("this file does not import tensorflow, which output_signature= needs")
    if any(arg.star for arg in call.args):
        raise Refused("from_generator() is called with *args or **kwargs: rewrite it by hand")
    if argument(call, "output_signature", 4) is not None:
        raise Refused("from_generator() already has output_signature=")
    types = argument(call, "output_types", 1)
    shapes = argument(call, "output_shapes", 2)
    assert types is not None
    text = specs(tensorflow, types.value, shapes.value if shapes else None)
    if len(indent) + len(text) > SIGNATURE_WIDTH and text[0] in "({":
        text = specs(tensorflow, types.value, shapes.value if shapes else None, indent)
    signature = cst.parse_expression(text).visit(Unindented())
    assert isinstance(signature, cst.BaseExpression)

    def edit(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.Call)
        args: list[cst.Arg] = []
        for index, arg in enumerate(node.args):
            name = (
                arg.keyword.value
                if arg.keyword
                else ("", "output_types", "output_shapes", "args")[min(index, 3)]
            )
            if name == "output_types":
                args.append(cst.Arg(signature, keyword=cst.Name("output_signature"),
                                    equal=tight_equal(), comma=arg.comma))  # fmt: skip
            elif name == "output_shapes":
                continue
            elif arg.keyword is None and index > 0:
                args.append(keyword_argument(arg, name))
            else:
                args.append(arg)
        return node.with_changes(args=fix_last_comma(args, node.args))

    return edit


def specs(
    tensorflow: str,
    types: cst.BaseExpression,
    shapes: cst.BaseExpression | None,
    indent: str | None = None,
) -> str:
    """The ``output_signature`` text for ``types`` and ``shapes`` of the same structure; with
    ``indent``, the outer tuple or dict holds one element per line below that indentation."""
    code = cst.Module([]).code_for_node
    if isinstance(types, (cst.Tuple, cst.List)):
        elements = [element.value for element in types.elements]
        if shapes is None:
            parts = [specs(tensorflow, element, None) for element in elements]
        elif isinstance(shapes, (cst.Tuple, cst.List)) and len(shapes.elements) == len(elements):
            parts = [
                specs(tensorflow, element, shape.value)
                for element, shape in zip(elements, shapes.elements)
            ]
        else:
            raise Refused("output_shapes does not have output_types's structure in the source")
        return enclosed("(", parts, ")", indent)
    if isinstance(types, cst.Dict):
        shape_of = dict_entries(shapes) if shapes is not None else {}
        parts = []
        for key, value in dict_entries(types).items():
            if shapes is not None and key not in shape_of:
                raise Refused("output_shapes does not have output_types's keys in the source")
            parts.append(f"{key}: {specs(tensorflow, value, shape_of.get(key))}")
        return enclosed("{", parts, "}", indent)
    if not isinstance(types, cst.Attribute):
        raise Refused(
            f"output_types={code(types)} is not written out (a tuple, dict or tf.<dtype>) here: "
            "its structure is not known"
        )
    shape = code(shapes) if shapes is not None else "None"
    return f"{tensorflow}.TensorSpec(shape={shape}, dtype={code(types)})"


def enclosed(opening: str, parts: list[str], closing: str, indent: str | None) -> str:
    if indent is None:
        one = "," if opening == "(" and len(parts) == 1 else ""  # a tuple of one
        return opening + ", ".join(parts) + one + closing
    lines = "".join(f"{indent}    {part},\n" for part in parts)
    return f"{opening}\n{lines}{indent}{closing}"


def dict_entries(node: cst.BaseExpression) -> dict[str, cst.BaseExpression]:
    if not isinstance(node, cst.Dict):
        raise Refused("output_shapes does not have output_types's structure in the source")
    code = cst.Module([]).code_for_node
    entries = {}
    for element in node.elements:
        if not isinstance(element, cst.DictElement):
            raise Refused("output_types unpacks a dict (**): rewrite it by hand")
        entries[code(element.key)] = element.value
    return entries


def super_init_edit(node: cst.CSTNode) -> cst.CSTNode:
    """``def __init__(self, ..., **kwargs)`` whose body starts (after its docstring) with
    ``super().__init__(**kwargs)``, as Keras 3's PyDataset asks."""
    assert isinstance(node, cst.FunctionDef)
    assert isinstance(node.body, cst.IndentedBlock)
    params = node.params
    star = params.star_kwarg
    if star is None:
        star = cst.Param(cst.Name("kwargs"), star="**")
        params = params.with_changes(star_kwarg=star)
    statement = cst.parse_statement(f"super().__init__(**{star.name.value})\n")
    body = list(node.body.body)
    at = 1 if body and is_docstring(body[0]) else 0
    body.insert(at, statement)
    return node.with_changes(params=params, body=node.body.with_changes(body=body))


def is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def without_keywords(names: Sequence[str]) -> Edit:
    def edit(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.Call)
        kept = [arg for arg in node.args if not (arg.keyword and arg.keyword.value in names)]
        return node.with_changes(args=fix_last_comma(kept, node.args))

    return edit


def with_arguments(moved: list[cst.Arg]) -> Edit:
    def edit(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.Call)
        args = list(node.args)
        for arg in moved:
            args = appended(args, arg.with_changes(comma=cst.MaybeSentinel.DEFAULT))
        return node.with_changes(args=args)

    return edit


def with_default_verbose(node: cst.Call) -> cst.Call:
    """The call with ``verbose=0`` added unless it passes verbose: the old method's default."""
    if any(arg.keyword and arg.keyword.value == "verbose" for arg in node.args):
        return node
    verbose = cst.Arg(cst.Integer("0"), keyword=cst.Name("verbose"), equal=tight_equal())
    return node.with_changes(args=appended(list(node.args), verbose))


def appended(args: list[cst.Arg], new: cst.Arg) -> list[cst.Arg]:
    """``args`` plus ``new`` last, keeping a trailing comma and the layout of a multi-line call."""
    if not args:
        return [new]
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        between = (
            args[-2].comma if len(args) > 1 and isinstance(args[-2].comma, cst.Comma) else None
        )
        comma = between or cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        return [*args[:-1], last.with_changes(comma=comma), new.with_changes(comma=last.comma)]
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    return [*args[:-1], last.with_changes(comma=comma), new]


def fix_last_comma(kept: list[cst.Arg], original: Sequence[cst.Arg]) -> list[cst.Arg]:
    """After removing arguments, the new last one ends as the old last one did (comma, newline)."""
    if kept and original and kept[-1] is not original[-1]:
        last = original[-1]
        kept[-1] = kept[-1].with_changes(
            comma=last.comma, whitespace_after_arg=last.whitespace_after_arg
        )
    return kept


def keyword_argument(arg: cst.Arg, name: str) -> cst.Arg:
    return arg.with_changes(keyword=cst.Name(name), equal=tight_equal())


def tight_equal() -> cst.AssignEqual:
    return cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
    )


def replace_module(new: cst.BaseExpression) -> Edit:
    def edit(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.ImportFrom)
        return node.with_changes(module=new)

    return edit


# --- small readers ------------------------------------------------------------------------


def argument(call: cst.Call, name: str, position: int) -> cst.Arg | None:
    """The argument passed as ``name=`` or at ``position``."""
    named = next((arg for arg in call.args if arg.keyword and arg.keyword.value == name), None)
    if named is not None:
        return named
    positional = [arg for arg in call.args if not arg.keyword and not arg.star]
    return positional[position] if len(positional) > position else None


def is_default(arg: cst.Arg) -> bool:
    assert arg.keyword is not None
    value = arg.value
    text = value.value if isinstance(value, (cst.Integer, cst.Name)) else None
    return text == QUEUE_DEFAULTS[arg.keyword.value]


def is_call_of(node: cst.BaseExpression | None, classes: Collection[str]) -> bool:
    """Whether ``node`` is ``Name(...)`` for one of ``classes``."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value in classes
    )


def method_of(call: cst.Call) -> str:
    return call.func.attr.value if isinstance(call.func, cst.Attribute) else "fit"


def init_of(cls: cst.ClassDef) -> cst.FunctionDef | None:
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    return next(
        (
            item
            for item in body
            if isinstance(item, cst.FunctionDef) and item.name.value == "__init__"
        ),
        None,
    )


def forwards_kwargs(init: cst.FunctionDef) -> bool:
    """Whether ``__init__`` passes its ``**kwargs`` on to ``super().__init__``."""
    star = init.params.star_kwarg
    if star is None:
        return False
    calls = InitCalls()
    init.body.visit(calls)
    return any(
        arg.star == "**" and isinstance(arg.value, cst.Name) and arg.value.value == star.name.value
        for call in calls.found
        for arg in call.args
    )


class InitCalls(cst.CSTVisitor):
    """Every ``<something>.__init__(...)`` call in a function body."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "__init__":
            self.found.append(node)


def dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{dotted(node.value)}.{node.attr.value}"
    return ""


def tensorflow_alias(facts: FileFacts) -> str | None:
    """The name this file binds to the tensorflow module (``tf``), if it binds one."""
    return next(
        (name for name, targets in sorted(facts.imports.items()) if "tensorflow" in targets), None
    )
