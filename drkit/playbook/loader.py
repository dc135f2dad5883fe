"""Load a playbook file into the model, or report every problem in it with its position.

Nothing may run from a playbook that does not load: the loader reads the whole file, collects all problems
(syntax, structure, types, names, references, variables) and raises one PlaybookError listing them in file
order, so one `drkit validate` round-trip shows everything to fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, TypeVar

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from drkit.errors import PlaybookError
from drkit.playbook import language as lang
from drkit.playbook.fields import Field, KindSchema
from drkit.playbook.model import (
    ALWAYS_PROTECTED_NAMESPACES,
    API_VERSION,
    FINALLY_PHASE,
    KIND,
    Checklist,
    ChecklistItem,
    CollectSpec,
    Phase,
    Playbook,
    RetryPolicy,
    StepSpec,
    Target,
    VarOrigin,
    VarSource,
)
from drkit.playbook.problems import (
    Problem,
    is_secret_name,
    mask_secret_assignments,
)
from drkit.playbook.source import Position
from drkit.playbook.suggest import did_you_mean
from drkit.playbook.validate import NULL, STR, SourceText, Validator
from drkit.playbook.variables import EnvProblem, expand_env, has_env_reference, reference_offsets
from drkit.playbook.yaml_input import PLAYBOOK_LIMITS, YamlInputError, compose, read_limited
from drkit.secret_registry import MASK, SecretRegistry

SET_POSITION_FILE = "<--set>"


def load_playbook(
    path: Path,
    *,
    overrides: Mapping[str, str] | None = None,
    step_kinds: Mapping[str, KindSchema],
    check_kinds: Mapping[str, KindSchema],
    shown_as: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Playbook:
    """Load and validate the playbook at `path`; raises PlaybookError listing every problem found.

    `shown_as` is the name used in positions (the path as the user typed it), when it differs from `path`.
    `env` is where `${env:NAME}` in `vars` is looked up (the Runtime's environment; nothing otherwise).
    """
    shown = shown_as or str(path)
    try:
        text = read_limited(path, PLAYBOOK_LIMITS)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        hint = "check the path" if isinstance(error, FileNotFoundError) else None
        problem = Problem(Position(shown, 0, 0), f"cannot read playbook: {reason}", hint)
        raise PlaybookError(f"cannot read playbook {shown}: {reason}", (problem,), hint=hint) from None
    except YamlInputError as error:
        message = error.message if error.line > 0 else f"cannot read playbook: {error.message}"
        problem = Problem(Position(shown, error.line, error.column), message, error.hint)
        raise PlaybookError(f"{problem.position}: {message}", (problem,), hint=error.hint) from None
    return load_playbook_text(
        text,
        filename=shown,
        path=path,
        overrides=overrides,
        step_kinds=step_kinds,
        check_kinds=check_kinds,
        env=env,
    )


def load_playbook_text(
    text: str,
    *,
    filename: str,
    path: Path | None = None,
    overrides: Mapping[str, str] | None = None,
    step_kinds: Mapping[str, KindSchema],
    check_kinds: Mapping[str, KindSchema],
    env: Mapping[str, str] | None = None,
) -> Playbook:
    """Load a playbook from text (stdin, tests); `filename` is used in positions, and as Playbook.path
    unless `path` (the file it came from) is given."""
    loader = _Loader(
        SourceText(filename, text), dict(overrides or {}), step_kinds, check_kinds, path, dict(env or {})
    )
    playbook = loader.load()
    problems = loader.finished_problems()
    if problems or playbook is None:
        count = len(problems)
        raise PlaybookError(f"{filename}: {count} problem{'s' if count != 1 else ''} found", problems)
    return playbook


@dataclass(frozen=True)
class _CheckReference:
    """A checklist a step names (its schema says which values do), checked once all checklists are read."""

    node: Node  # where the checklist name is written
    checklist: str
    step: str


@dataclass(frozen=True)
class _Entry:
    """A step or checklist item as found in the YAML, before its body is validated."""

    pairs: list[tuple[str, Node, Node]]
    kind: str
    kind_key: Node
    kind_node: Node
    name: str
    where: str  # how messages name it: "step 'apply-base' in phase 'rebuild'"
    position: Position


class _Named(Protocol):
    """What `_Loader._named` needs of a phase, step or checklist item."""

    @property
    def name(self) -> str: ...

    @property
    def position(self) -> Position: ...


_NamedT = TypeVar("_NamedT", bound=_Named)


@dataclass
class _Loader:
    source: SourceText
    overrides: dict[str, str]
    step_kinds: Mapping[str, KindSchema]
    check_kinds: Mapping[str, KindSchema]
    path: Path | None = None  # the file the text came from, when `source.filename` is only its display name
    env: Mapping[str, str] = field(default_factory=dict)  # for `${env:NAME}` in `vars`
    v: Validator = field(init=False)
    check_references: list[_CheckReference] = field(default_factory=list)
    var_origins: dict[str, VarOrigin] = field(default_factory=dict)
    secret_var_names: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.v = Validator(self.source)

    # -- the document ----------------------------------------------------------------------------------------

    def load(self) -> Playbook | None:
        self._report_tabs()
        root = self._compose()
        if root is None:
            return None
        where = "the playbook"
        pairs = self.v.pairs(root, where)
        if pairs is None:
            return None
        self.v.check_keys(pairs, lang.TOP_LEVEL_KEYS, where)
        nodes = {key: (key_node, value_node) for key, key_node, value_node in pairs}
        for key in lang.TOP_LEVEL_REQUIRED:
            if key not in nodes:
                example = {"apiVersion": API_VERSION, "kind": KIND}.get(key, "...")
                self.v.report(root, f"missing required key '{key}' in {where}", f"add '{key}: {example}'")
        self._check_header(nodes)

        name, description = self._metadata(nodes.get("metadata"))
        variables = self._variables(nodes.get("vars"))
        self.v.variables = variables
        self.v.secret_variables = frozenset(self.secret_var_names & set(variables))
        for var in self.v.secret_variables:
            self.v.secret_values.add(variables[var])

        target = self._target(nodes.get("target"))
        rto = self._rto(nodes.get("rto"))
        checklists = self._checklists(nodes.get("checklists"))
        phases = self._phases(nodes.get("phases"))
        finally_steps = self._finally(nodes.get(lang.FINALLY_KEY))
        collect = self._collect(nodes.get("collect"))
        self._check_references(checklists)
        if self.v.problems:
            return None
        return Playbook(
            name=name,
            path=self.path or Path(self.source.filename),
            position=self.v.position(root),
            target=target,
            vars=variables,
            phases=phases,
            checklists=checklists,
            rto=rto,
            description=description,
            secret_vars=self.v.secret_variables,
            var_origins={n: o for n, o in self.var_origins.items() if n in variables},
            finally_steps=finally_steps,
            collect=collect,
        )

    def _report_tabs(self) -> None:
        for number, line in enumerate(self.source.lines, start=1):
            indent = line[: len(line) - len(line.lstrip(" \t"))]
            if "\t" in indent:
                self.v.report(
                    Position(self.source.filename, number, indent.index("\t") + 1),
                    "tab character in indentation",
                    "indent with spaces: YAML does not allow tabs",
                )

    def _compose(self) -> Node | None:
        try:
            root, tags = compose(self.source.text, PLAYBOOK_LIMITS)
        except YamlInputError as error:
            tab_lines = {p.position.line for p in self.v.problems}
            if error.line not in tab_lines:  # a tab in the indentation is the better explanation
                self.v.report(
                    Position(self.source.filename, error.line, error.column), error.message, error.hint
                )
            return None
        for tag in tags:
            self.v.report(
                Position(self.source.filename, tag.line, tag.column),
                f"unsupported YAML tag '{tag.tag}'",
                "remove the tag: drkit reads plain YAML data and never constructs objects from tags",
            )
        if root is None:
            self.v.report(
                Position(self.source.filename, 1, 1),
                "the playbook is empty",
                f"start with 'apiVersion: {API_VERSION}', 'kind: {KIND}', 'metadata: {{name: ...}}' "
                "and 'phases:'",
            )
        else:
            _unmark_folds(root)
        return root

    def _check_header(self, nodes: Mapping[str, tuple[Node, Node]]) -> None:
        for key, expected in (("apiVersion", API_VERSION), ("kind", KIND)):
            if key not in nodes:
                continue
            key_node, value_node = nodes[key]
            written = value_node.value if isinstance(value_node, ScalarNode) else None
            if written != expected or value_node.tag != "tag:yaml.org,2002:str":
                got = f"'{written}'" if isinstance(written, str) and written else "nothing"
                self.v.report(
                    self.v.position(value_node, key_node),
                    f"unsupported {key} {got}"
                    if key == "apiVersion"
                    else f"kind must be '{KIND}', got {got}",
                    f"use '{key}: {expected}'",
                )

    def _metadata(self, entry: tuple[Node, Node] | None) -> tuple[str, str]:
        if entry is None:
            return "", ""
        key_node, node = entry
        value = self.v.value(node, lang.METADATA, "'metadata'", at=key_node, subst=False)
        if not isinstance(value, dict):
            return "", ""
        name, description = value.get("name", ""), value.get("description", "")
        return (name if isinstance(name, str) else "", description if isinstance(description, str) else "")

    # -- variables -------------------------------------------------------------------------------------------

    def _variables(self, entry: tuple[Node, Node] | None) -> dict[str, str]:
        """The declared variables, `${env:NAME}` taken from the environment, --set overrides applied;
        overrides must name declared variables."""
        declared: dict[str, str] = {}
        unset: dict[str, Node] = {}
        env_problems: dict[str, list[tuple[EnvProblem, Node]]] = {}
        vars_node: Node | None = None
        if entry is not None:
            key_node, vars_node = entry
            for name, name_node, value_node in self.v.pairs(vars_node, "'vars'", at=key_node) or []:
                if re.fullmatch(lang.VAR_NAME, name) is None:
                    self.v.report(
                        name_node,
                        f"invalid variable name '{name}'",
                        "a variable name is letters, digits and '_', not starting with a digit",
                    )
                if not isinstance(value_node, ScalarNode):
                    what = "a mapping" if isinstance(value_node, MappingNode) else "a list"
                    self.v.report(
                        value_node, f"variable '{name}' must be a string, number or boolean, got {what}"
                    )
                    continue
                if is_secret_name(name):
                    self.secret_var_names.add(name)
                if value_node.tag == NULL:
                    unset[name] = name_node
                    declared[name] = ""
                    continue
                declared[name] = self._from_environment(name, value_node, env_problems)
                if name in self.secret_var_names:
                    self.v.mark_secret(value_node, str(value_node.value))
                    self.v.secret_values.add(declared[name])
        where = (
            self.v.position(vars_node, entry[0] if entry else None)
            if vars_node is not None
            else Position(SET_POSITION_FILE, 0, 0)
        )
        for name, value in self.overrides.items():
            if is_secret_name(name) or name in self.secret_var_names:
                self.v.secret_values.add(value)
            if name not in declared:
                hint = did_you_mean(name, declared) or (
                    f"declare it under 'vars:' first (e.g. {name}: default)"
                    if declared
                    else "this playbook declares no variables"
                )
                self.v.report(where, f"--set {name}: the playbook has no variable '{name}'", hint)
                continue
            declared[name] = value
            self.var_origins[name] = VarOrigin(VarSource.SET)
            unset.pop(name, None)
            env_problems.pop(name, None)  # --set is the documented way round an unset environment variable
        for name, name_node in unset.items():
            self.v.report(
                name_node,
                f"variable '{name}' has no value",
                f"give it a default in the playbook, or pass --set {name}=...",
            )
        for name, problems in env_problems.items():
            for problem, node in problems:
                self._report_env_problem(name, problem, node)
        return declared

    def _from_environment(
        self, name: str, node: ScalarNode, problems: dict[str, list[tuple[EnvProblem, Node]]]
    ) -> str:
        """The value of variable `name` with its `${env:...}` references expanded; their problems are kept
        in `problems`, to be reported unless --set gives the variable a value."""
        text = str(node.value)
        if node.tag != STR or not has_env_reference(text):
            return text
        expanded = expand_env(text, self.env)
        if any(is_secret_name(env_var) for env_var in expanded.env_vars):
            self.secret_var_names.add(name)  # `auth: ${env:MLFLOW_TRACKING_TOKEN}` is as secret as its source
        if expanded.problems:
            problems[name] = [(problem, node) for problem in expanded.problems]
        if expanded.env_vars:  # not for a value that only escapes one (`$${env:X}`)
            defaulted = set(expanded.defaulted)
            all_defaulted = defaulted.issuperset(expanded.env_vars)
            source = VarSource.ENV_DEFAULT if all_defaulted else VarSource.ENVIRONMENT
            self.var_origins[name] = VarOrigin(source, tuple(dict.fromkeys(expanded.env_vars)))
        return expanded.text

    def _report_env_problem(self, name: str, problem: EnvProblem, node: Node) -> None:
        raw = self.source.text[node.start_mark.index : node.end_mark.index]
        offsets = reference_offsets(raw)
        where = (
            self.source.position_at(node.start_mark.index + offsets[problem.ordinal])
            if problem.ordinal < len(offsets)
            else self.v.position(node)
        )
        env_var = problem.env_var
        if problem.kind == "unterminated":
            self.v.report(
                where,
                f"unterminated environment reference '${{env:{env_var}' in variable '{name}'",
                "close it with '}': ${env:NAME} or ${env:NAME:-default}",
            )
        elif problem.kind == "invalid-env-name":
            self.v.report(
                where,
                f"invalid environment variable name '{env_var}' in variable '{name}'",
                "write ${env:NAME} or ${env:NAME:-default}, NAME being letters, digits and '_'",
            )
        else:
            self.v.report(
                where,
                f"variable '{name}' takes its value from the environment variable {env_var}, "
                "which is not set",
                f"export {env_var}=..., pass --set {name}=..., or give a default in the playbook: "
                f"${{env:{env_var}:-value}}",
            )

    # -- target and rto --------------------------------------------------------------------------------------

    def _target(self, entry: tuple[Node, Node] | None) -> Target:
        if entry is None:
            return Target()
        key_node, node = entry
        value = self.v.value(node, lang.TARGET, "'target'", at=key_node, subst=True)
        if not isinstance(value, dict):
            return Target()
        contexts = tuple(_strings(value.get("contexts")))
        extra = _strings(value.get("protectedNamespaces"))
        protected = tuple(dict.fromkeys([*ALWAYS_PROTECTED_NAMESPACES, *extra]))
        return Target(contexts=contexts, protected_namespaces=protected)

    def _rto(self, entry: tuple[Node, Node] | None) -> float | None:
        if entry is None:
            return None
        key_node, node = entry
        # `rto` takes variables too, so a stricter drill can pass --set rto=30m.
        value = self.v.value(node, lang.RTO.type, "'rto'", at=key_node, subst=True)
        return value if isinstance(value, float) else None

    # -- checklists ------------------------------------------------------------------------------------------

    def _checklists(self, entry: tuple[Node, Node] | None) -> dict[str, Checklist]:
        if entry is None:
            return {}
        key_node, node = entry
        result: dict[str, Checklist] = {}
        for name, name_node, value_node in self.v.pairs(node, "'checklists'", at=key_node) or []:
            if re.fullmatch(lang.CHECKLIST_NAME, name) is None:
                self.v.report(
                    name_node,
                    f"invalid checklist name '{name}'",
                    "use letters, digits, '-', '_' and '.', starting with a letter or digit",
                )
            checklist = self._checklist(name, name_node, value_node)
            if checklist is not None:
                result[name] = checklist
        return result

    def _checklist(self, name: str, name_node: Node, node: Node) -> Checklist | None:
        where = f"checklist '{name}'"
        timeout: float | None = None
        items_node: Node | None = node
        items_at = name_node
        if isinstance(node, MappingNode):
            pairs = self.v.pairs(node, where) or []
            self.v.check_keys(pairs, [*lang.CHECKLIST_FIELDS, lang.CHECKLIST_ITEMS_KEY], where)
            by_key = {key: (key_node, value_node) for key, key_node, value_node in pairs}
            if "timeout" in by_key:
                t_key, t_node = by_key["timeout"]
                value = self.v.value(
                    t_node,
                    lang.CHECKLIST_FIELDS["timeout"].type,
                    f"'timeout' in {where}",
                    at=t_key,
                    subst=True,
                )
                timeout = value if isinstance(value, float) else None
            if lang.CHECKLIST_ITEMS_KEY not in by_key:
                self.v.report(
                    node, f"missing required key 'items' in {where}", "add 'items:' with a list of checks"
                )
                return None
            items_at, items_node = by_key[lang.CHECKLIST_ITEMS_KEY]
        if not isinstance(items_node, SequenceNode):
            got = "nothing" if isinstance(items_node, ScalarNode) and items_node.tag == NULL else "a scalar"
            self.v.report(
                self.v.position(items_node, items_at) if items_node is not None else self.v.position(node),
                f"{where} must be a list of items or a mapping with 'items', got {got}",
            )
            return None
        if not items_node.value:
            self.v.report(
                self.v.position(items_node, items_at), f"{where} has no items", "add at least one check"
            )
        items = self._named(
            items_node.value,
            lambda item_node, index: self._item(item_node, index, name),
            "item",
            f" in {where}",
            "give each item a unique 'name:'",
        )
        return Checklist(name=name, items=items, position=self.v.position(name_node), timeout=timeout)

    def _item(self, node: Node, index: int, checklist: str) -> ChecklistItem | None:
        entry = self._entry(
            node, index, f"checklist '{checklist}'", self.check_kinds, lang.ITEM_COMMON_FIELDS
        )
        if entry is None:
            return None
        schema = self.check_kinds[entry.kind]
        body = self.v.value(
            entry.kind_node, schema.body, f"'{entry.kind}' in {entry.where}", at=entry.kind_key, subst=True
        )
        return ChecklistItem(kind=entry.kind, name=entry.name, body=body, position=entry.position)

    # -- phases and steps ------------------------------------------------------------------------------------

    def _phases(self, entry: tuple[Node, Node] | None) -> tuple[Phase, ...]:
        if entry is None:
            return ()
        key_node, node = entry
        if not isinstance(node, SequenceNode):
            self.v.report(
                self.v.position(node, key_node),
                "'phases' must be a list of phases",
                "write each phase as '- name: ...' with its 'steps:'",
            )
            return ()
        if not node.value:
            self.v.report(node, "'phases' is empty", "add at least one phase with steps")
        return self._named(node.value, self._phase, "phase", "", "give each phase a unique name")

    def _phase(self, node: Node, index: int) -> Phase | None:
        where = f"phase {index}"
        pairs = self.v.pairs(node, where)
        if pairs is None:
            return None
        by_key = {key: (key_node, value_node) for key, key_node, value_node in pairs}
        name_entry = by_key.get("name")
        name = ""
        if name_entry is not None:
            value = self.v.value(
                name_entry[1],
                lang.PHASE_FIELDS["name"].type,
                f"the name of {where}",
                at=name_entry[0],
                subst=False,
            )
            name = value if isinstance(value, str) else ""
        if name == FINALLY_PHASE:
            self.v.report(
                name_entry[1] if name_entry is not None else node,
                f"phase name '{FINALLY_PHASE}' is reserved for the top-level '{lang.FINALLY_KEY}:' steps",
                f"rename it, or move its steps under '{lang.FINALLY_KEY}:' to run them whatever happens",
            )
        where = f"phase '{name}'" if name else where
        self.v.check_keys(pairs, [*lang.PHASE_FIELDS, lang.PHASE_STEPS_KEY], where)
        for key in ("name", lang.PHASE_STEPS_KEY):
            if key not in by_key:
                self.v.report(node, f"missing required key '{key}' in {where}", f"add '{key}:'")
        budget = drill_only = None
        if "budget" in by_key:
            budget = self.v.value(
                by_key["budget"][1],
                lang.PHASE_FIELDS["budget"].type,
                f"'budget' in {where}",
                at=by_key["budget"][0],
                subst=True,
            )
        if "drillOnly" in by_key:
            drill_only = self.v.value(
                by_key["drillOnly"][1],
                lang.PHASE_FIELDS["drillOnly"].type,
                f"'drillOnly' in {where}",
                at=by_key["drillOnly"][0],
                subst=True,
            )
        steps = self._steps(by_key.get(lang.PHASE_STEPS_KEY), where)
        position = self.v.position(name_entry[1] if name_entry is not None else node)
        return Phase(
            name=name,
            steps=steps,
            position=position,
            budget=budget if isinstance(budget, float) else None,
            drill_only=drill_only is True,
        )

    def _collect(self, entry: tuple[Node, Node] | None) -> tuple[CollectSpec, ...]:
        if entry is None:
            return ()
        key_node, node = entry
        return _collect_specs(self.v.value(node, lang.COLLECT.type, "'collect'", at=key_node, subst=True))

    def _finally(self, entry: tuple[Node, Node] | None) -> tuple[StepSpec, ...]:
        """The top-level `finally:` steps: a list of steps as in a phase (reported as phase 'finally')."""
        where = f"'{lang.FINALLY_KEY}'"
        return self._steps(entry, where, list_name=where, remove=f"'{lang.FINALLY_KEY}:'")

    def _steps(
        self,
        entry: tuple[Node, Node] | None,
        where: str,
        *,
        list_name: str | None = None,  # how messages name the list; default "'steps' in <where>"
        remove: str = "the phase",
    ) -> tuple[StepSpec, ...]:
        if entry is None:
            return ()
        key_node, node = entry
        if not isinstance(node, SequenceNode):
            named = list_name or f"'{lang.PHASE_STEPS_KEY}' in {where}"
            self.v.report(self.v.position(node, key_node), f"{named} must be a list of steps")
            return ()
        if not node.value:
            self.v.report(node, f"{where} has no steps", f"add at least one step, or remove {remove}")
        return self._named(
            node.value,
            lambda step_node, index: self._step(step_node, index, where),
            "step",
            f" in {where}",
            "give each step a unique 'name:'",
        )

    def _step(self, node: Node, index: int, phase_where: str) -> StepSpec | None:
        entry = self._entry(node, index, phase_where, self.step_kinds, lang.STEP_COMMON_FIELDS)
        if entry is None:
            return None
        common: dict[str, object] = {}
        for key, key_node, value_node in entry.pairs:
            if key in lang.STEP_COMMON_FIELDS and key != "name":
                spec = lang.STEP_COMMON_FIELDS[key]
                common[key] = self.v.value(
                    value_node, spec.type, f"'{key}' in {entry.where}", at=key_node, subst=True
                )
        schema = self.step_kinds[entry.kind]
        named_before = len(self.v.checklist_names)
        body = self.v.value(
            entry.kind_node, schema.body, f"'{entry.kind}' in {entry.where}", at=entry.kind_key, subst=True
        )
        self.check_references += [
            _CheckReference(named.node, named.name, entry.name)
            for named in self.v.checklist_names[named_before:]
        ]
        timeout = common.get("timeout")
        return StepSpec(
            kind=entry.kind,
            name=entry.name,
            body=body,
            position=entry.position,
            timeout=timeout if isinstance(timeout, float) else None,
            retries=_retry_policy(common.get("retries")),
            continue_on_error=common.get("continueOnError") is True,
            collect=_collect_specs(common.get("collect")),
        )

    def _named(
        self,
        nodes: Sequence[Node],
        build: Callable[[Node, int], _NamedT | None],
        what: str,
        in_where: str,
        hint: str,
    ) -> tuple[_NamedT, ...]:
        """Build each entry (index from 1) and report every name given twice, as "duplicate {what} name ..."
        followed by `in_where` (" in phase 'x'", or "").

        An entry that cannot be built is left out: `build` has reported its problem already."""
        built: list[_NamedT] = []
        first_line: dict[str, int] = {}
        for index, node in enumerate(nodes, start=1):
            entry = build(node, index)
            if entry is None:
                continue
            if entry.name in first_line:
                first = first_line[entry.name]
                self.v.report(
                    entry.position,
                    f"duplicate {what} name '{entry.name}'{in_where} (first at line {first})",
                    hint,
                )
            first_line.setdefault(entry.name, entry.position.line)
            built.append(entry)
        return tuple(built)

    def _entry(
        self,
        node: Node,
        index: int,
        container: str,
        kinds: Mapping[str, KindSchema],
        common: Mapping[str, Field],
    ) -> _Entry | None:
        """A step or checklist item: a mapping with common keys and exactly one kind key.

        Reports unknown keys (suggesting common keys and kinds), a missing kind and extra kinds.
        """
        noun = "step" if common is lang.STEP_COMMON_FIELDS else "item"
        pairs = self.v.pairs(node, f"{noun} {index} of {container}")
        if pairs is None:
            return None
        given, name_node = "", None
        for key, key_node, value_node in pairs:
            if key == "name":
                value = self.v.value(
                    value_node, common["name"].type, f"the name of {noun} {index}", at=key_node, subst=True
                )
                given, name_node = (value if isinstance(value, str) else ""), value_node
        kind_pairs = [(key, key_node, value_node) for key, key_node, value_node in pairs if key in kinds]
        name = given or (f"{kind_pairs[0][0]}-{index}" if kind_pairs else "")
        where = f"{noun} '{name}' in {container}" if name else f"{noun} {index} of {container}"
        self.v.check_keys(pairs, [*common, *kinds], where)
        if not kind_pairs:
            unknown = any(key not in common for key, _, _ in pairs)
            self.v.report(
                node,
                f"{where} has no {noun} kind",
                None if unknown else f"add exactly one of: {', '.join(sorted(kinds))}",
            )
            return None
        kind, kind_key, kind_node = kind_pairs[0]
        for extra, extra_node, _ in kind_pairs[1:]:
            self.v.report(
                extra_node,
                f"{where} has two kinds, '{kind}' and '{extra}'",
                f"a {noun} does exactly one thing: split it in two",
            )
        position = self.v.position(name_node if name_node is not None else node)
        return _Entry(pairs, kind, kind_key, kind_node, name, where, position)

    # -- references ------------------------------------------------------------------------------------------

    def _check_references(self, checklists: Mapping[str, Checklist]) -> None:
        for ref in self.check_references:
            if ref.checklist in checklists:
                continue
            hint = did_you_mean(ref.checklist, checklists) or (
                f"define it under 'checklists:' ({', '.join(sorted(checklists))} exist)"
                if checklists
                else "define it under 'checklists:'"
            )
            self.v.report(
                ref.node, f"step '{ref.step}' checks checklist '{ref.checklist}', which is not defined", hint
            )

    # -- finishing -------------------------------------------------------------------------------------------

    def finished_problems(self) -> tuple[Problem, ...]:
        """Problems in file order, deduplicated, each with its (masked) line; no secret value anywhere."""
        seen: set[tuple[Position, str]] = set()
        result: list[Problem] = []
        secrets = SecretRegistry(self.v.secret_values)  # masked as a run masks them, from the same rule
        for problem in self.v.problems:
            if (problem.position, problem.message) in seen:
                continue
            seen.add((problem.position, problem.message))
            line = ""
            if problem.position.file == self.source.filename:
                line = secrets.mask(self._masked_line(problem.position.line))
            hint = secrets.mask(problem.hint) if problem.hint else None
            result.append(replace(problem, message=secrets.mask(problem.message), hint=hint, line_text=line))
        own = self.source.filename
        result.sort(key=lambda p: (p.position.file != own, p.position.line, p.position.column))
        return tuple(result)

    def _masked_line(self, number: int) -> str:
        line = self.source.line(number)
        spans = sorted(
            (s for s in self.v.secret_spans if s.line == number), key=lambda s: s.start, reverse=True
        )
        for span in spans:
            start = span.start - 1
            if span.end is None:
                start = max(start, len(line) - len(line.lstrip()))
            end = len(line) if span.end is None else span.end - 1
            if end > start:
                line = line[:start] + MASK + line[end:]
        return mask_secret_assignments(line)


def _strings(value: object) -> list[str]:
    """The strings of a validated list (empty when the list itself was invalid)."""
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _collect_specs(value: object) -> tuple[CollectSpec, ...]:
    """The validated `collect:` list as typed entries (invalid entries were reported, and are left out)."""
    specs: list[CollectSpec] = []
    for entry in value if isinstance(value, list) else []:
        events, logs = (entry.get("events"), entry.get("logs")) if isinstance(entry, dict) else (None, None)
        if isinstance(events, dict) and isinstance(events.get("namespace"), str):
            specs.append(CollectSpec("events", events["namespace"]))
        elif isinstance(logs, dict) and isinstance(logs.get("namespace"), str):
            tail = logs.get("tail")
            specs.append(
                CollectSpec(
                    "logs",
                    logs["namespace"],
                    selector=str(logs.get("selector") or ""),
                    container=str(logs.get("container") or ""),
                    tail=tail if isinstance(tail, int) else CollectSpec.tail,
                )
            )
    return tuple(specs)


def _retry_policy(value: object) -> RetryPolicy:
    if isinstance(value, int) and not isinstance(value, bool):
        return RetryPolicy(count=value)
    if isinstance(value, dict):
        defaults = RetryPolicy()
        count, delay = value.get("count", 0), value.get("delay", defaults.delay)
        backoff, max_delay = value.get("backoff", defaults.backoff), value.get("maxDelay", defaults.max_delay)
        return RetryPolicy(
            count=count if isinstance(count, int) else 0,
            delay=delay if isinstance(delay, float) else defaults.delay,
            backoff=backoff if isinstance(backoff, float) else defaults.backoff,
            max_delay=max_delay if isinstance(max_delay, float) else defaults.max_delay,
        )
    return RetryPolicy()


__all__ = ["SET_POSITION_FILE", "load_playbook", "load_playbook_text"]


def _unmark_folds(node: Node, seen: set[int] | None = None) -> None:
    """Remove the BEL characters ruamel's composer leaves where a folded (`>`) scalar joined its lines.

    The constructor would strip them; we work on composed nodes (to keep every position), so we do it here.
    """
    seen = set() if seen is None else seen
    if id(node) in seen:  # aliases share nodes
        return
    seen.add(id(node))
    if isinstance(node, ScalarNode):
        if node.style == ">" and isinstance(node.value, str):
            node.value = node.value.replace("\a", "")
        return
    for child in node.value:
        if isinstance(child, tuple):
            for part in child:
                _unmark_folds(part, seen)
        else:
            _unmark_folds(child, seen)
