"""The picker's editors: dropdowns, text boxes and checkboxes, in rows.

A row can show an error under the editor at fault (EditorRows.mark).

Nothing here knows about policies; rlkit.widgets.picker wires the editors to build_policy.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from rlkit.widgets.building import MAIN_HYPERPARAMETERS

DEFAULT_ENVS = (
    "CartPole-v1",
    "Acrobot-v1",
    "Pendulum-v1",
    "Taxi-v4",
    "Blackjack-v1",
    "ALE/Pong-v5",
)
FILTERS = ("NoFilter", "MeanStdFilter")
# Model keys with their own editor; any other model key goes in the "more model keys" text.
MODEL_EDITOR_KEYS = (
    "fcnet_hiddens",
    "fcnet_activation",
    "conv_filters",
    "use_lstm",
    "lstm_cell_size",
    "free_log_std",
    "vf_share_layers",
    "custom_model",
    "custom_model_config",
    "custom_action_dist",
    "custom_preprocessor",
)
_STYLE = {"description_width": "130px"}
_WIDE = {"width": "auto"}  # the column's width, set by EDITOR_CSS (class "rlkit-editor")
# The picker's own CSS, shown with it. Editors fill the column exactly (no 100% plus margins
# that overflow it by 4 px); the outline of a bad editor is drawn inside its box, so the
# panel's edge never clips it; in a column narrower than 330 px (a Playground beside its
# picture on a 1000 px screen with the file browser open) each label goes above its box.
EDITOR_CSS = """
.rlkit-picker {container-type: inline-size; box-sizing: border-box}
.rlkit-picker .rlkit-editor {width: auto !important; max-width: 100%; align-self: stretch;
  margin: 2px 0 !important; box-sizing: border-box; min-width: 0}
.rlkit-picker .rlkit-editor > select, .rlkit-picker .rlkit-editor > input {min-width: 0;
  flex: 1 1 auto; width: auto}
.rlkit-picker .rlkit-indent {margin-left: 136px; flex-wrap: wrap; gap: 0 8px}
.rlkit-picker .rlkit-bad {outline: 2px solid #b00020; outline-offset: -2px; border-radius: 2px}
@container (max-width: 330px) {
  .rlkit-picker .rlkit-editor {flex-direction: column; align-items: stretch; height: auto}
  .rlkit-picker .rlkit-editor > select, .rlkit-picker .rlkit-editor > input {flex: 0 0 auto;
    height: 28px}
  .rlkit-picker .rlkit-editor > .widget-label {width: auto !important; max-width: none;
    text-align: left; line-height: 18px; height: auto}
  .rlkit-picker .rlkit-indent {margin-left: 0}
}
"""


def named_options(first: tuple, names: list, current: Any) -> list[tuple[str, Any]]:
    """Dropdown options: ``first`` (label, "") then names; a class given directly is kept."""
    options = [first] + [(str(n), n) for n in names]
    if current and current not in names:
        options.append((getattr(current, "__name__", str(current)), current))
    return options


# The first option of each component dropdown: the choice the catalog makes by itself.
_AUTO = {
    "model": ("default (FC / Vision)", ""),
    "preprocessor": ("auto", ""),
    "action distribution": ("auto", ""),
}


def registered_names() -> dict[str, list]:
    """What each component dropdown offers: every name registered with ModelCatalog.

    The action distribution dropdown also lists the built-in distributions, first.
    """
    from rlkit.catalog import ModelCatalog
    from rlkit.distributions import BUILTIN_DISTRIBUTIONS

    registered = ModelCatalog.registered()
    return {
        "model": list(registered["models"]),
        "preprocessor": list(registered["preprocessors"]),
        "action distribution": list(BUILTIN_DISTRIBUTIONS) + list(registered["action_dists"]),
    }


def component_dropdown(what: str, current: Any) -> widgets.Dropdown:
    """The dropdown of ``what`` ("model", "preprocessor", "action distribution")."""
    options = named_options(_AUTO[what], registered_names()[what], current)
    return dropdown(what, options, current or "")


def refresh_options(editors: dict[str, widgets.Dropdown]) -> None:
    """Give component dropdowns every name registered by now, keeping their values."""
    names = registered_names()
    for what, editor in editors.items():
        options = named_options(_AUTO[what], names[what], editor.value)
        if list(editor.options) != options:
            value = editor.value
            editor.options = options
            editor.value = value


def dropdown(description: str, options: Any, value: Any) -> widgets.Dropdown:
    """A full-width dropdown with the picker's label width."""
    editor = widgets.Dropdown(
        options=options, value=value, description=description, style=_STYLE, layout=_WIDE
    )
    editor.add_class("rlkit-editor")
    return editor


def text(description: str, value: str, placeholder: str = "") -> widgets.Text:
    """A full-width text box that reports its value on Enter or when it loses focus."""
    editor = widgets.Text(
        value=value,
        description=description,
        placeholder=placeholder,
        continuous_update=False,  # rebuild on Enter or leaving the box, not per keystroke
        style=_STYLE,
        layout=_WIDE,
    )
    editor.add_class("rlkit-editor")
    return editor


def checkbox(description: str, value: bool) -> widgets.Checkbox:
    """A checkbox with its label on the right (lines up with the editors' boxes)."""
    return widgets.Checkbox(
        value=value, description=description, indent=False, layout={"width": "130px"}
    )


# Keys with an editor elsewhere, or that a notebook should not offer to change.
# num_threads ("auto" or a number) sizes the machine's thread pools, not a lesson's learning.
_NOT_EDITED = {"env", "model", "observation_filter", "framework", "device", "num_gpus", "output"}
_NOT_EDITED.add("num_threads")


def editable_keys(algo: str) -> list[Any]:
    """The config keys of ``algo`` that get an editor: numbers, flags and choices.

    From the algorithm's key table (rlkit.algorithms.config.keys): the main hyperparameters first,
    then the rest by name. Keys whose default is None stay in "more config".
    """
    from rlkit.algorithms.config.registry import algorithm_keys

    table = algorithm_keys(algo)
    chosen = [
        key
        for key in table.values()
        if key.kind in ("int", "float", "bool", "choice")
        and key.name not in _NOT_EDITED
        and key.default is not None
    ]
    main = {name: i for i, name in enumerate(MAIN_HYPERPARAMETERS)}
    return sorted(chosen, key=lambda k: (main.get(k.name, len(main)), k.name))


def hyperparameter_editors(algo: str, values: dict) -> dict[str, widgets.Widget]:
    """One editor per editable key of ``algo``, its meaning and range as the tooltip.

    Args:
        algo: a key of rlkit.algorithms.ALGORITHMS.
        values: key -> value typed earlier (kept across algorithm switches); else defaults.
    """
    editors: dict[str, widgets.Widget] = {}
    for key in editable_keys(algo):
        value = values.get(key.name, key.default)
        common = {"description": key.name, "style": _STYLE, "layout": _WIDE}
        if key.kind == "bool":
            editor = widgets.Checkbox(value=bool(value), indent=True, **common)
        elif key.kind == "choice":
            editor = widgets.Dropdown(options=list(key.choices), value=value, **common)
        elif key.kind == "int":
            editor = widgets.IntText(value=value, **common)
        else:
            editor = widgets.FloatText(value=value, **common)
        editor.tooltip = f"{key.doc} (takes {key.takes()})"
        editor.add_class("rlkit-editor")
        editors[key.name] = editor
    return editors


class EditorRows:
    """Rows of editors; ``mark`` outlines one editor and puts a message under it.

    Args:
        message: the widget (HTML) that shows the message, moved to the bad editor's row.

    Attributes:
        bad: the editor marked now (None when none).
    """

    def __init__(self, message: widgets.HTML):
        self.message = message
        self.bad: widgets.Widget | None = None
        self._rows: dict[int, widgets.VBox] = {}

    def row(self, *editors: widgets.Widget, indent: bool = False) -> widgets.VBox:
        """A line of editors (side by side and indented when ``indent``)."""
        line = widgets.HBox(list(editors)) if indent else editors[0]
        if indent:
            line.add_class("rlkit-indent")  # lines checkboxes up with the editors' boxes
        row = widgets.VBox([line], layout={"width": "100%"})
        for editor in editors:
            self._rows[id(editor)] = row
        return row

    def __getitem__(self, editor_id: int) -> widgets.VBox:
        return self._rows[editor_id]

    def mark(
        self, editor: widgets.Widget | None, message: str, fallback: widgets.Widget
    ) -> widgets.VBox | None:
        """Outline ``editor`` with ``message`` under it; None clears the mark.

        Args:
            editor: the editor at fault (``fallback`` is marked when it has no row).
            message: HTML for the message widget.
            fallback: the editor to mark instead of one outside every row.

        Returns:
            the row marked (None when cleared).
        """
        if self.bad is not None:
            self.bad.remove_class("rlkit-bad")
            row = self._rows.get(id(self.bad))
            if row is not None:
                row.children = row.children[:1]
        self.message.value = message
        if editor is None:
            self.bad = None
            return None
        if id(editor) not in self._rows:
            editor = fallback
        self.bad = editor
        editor.add_class("rlkit-bad")  # outlined by EDITOR_CSS
        row = self._rows[id(editor)]
        row.children = (row.children[0], self.message)
        return row
