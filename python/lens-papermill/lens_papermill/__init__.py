"""lens_papermill — lets papermill parameterise notebooks run by the lens kernel.

Owns: the translation of papermill parameters (JSON/YAML values: numbers,
strings, booleans, None, lists, dicts) into lens literals, and its
registration for the kernel and language "lens". Does not own executing the
notebook: LensEngine is papermill's own nbclient engine under another name.

papermill finds translators only in its registry, which it fills from Python
code; it does load every "papermill.engine" entry point when it starts. This
package's entry point names LensEngine, so importing it (which papermill
does) registers LensTranslator. `papermill in.ipynb out.ipynb -p n_prompts 20`
then injects a cell such as::

    # Parameters
    n_prompts = 20
"""


def __getattr__(name):
    """LensEngine, made on first use. papermill loads the entry point while it
    is itself being imported (and, when this package is imported first, while
    this module is half done), so the class is only looked up here, from
    papermill.engines, whose NBClientEngine exists by then."""
    if name == "LensEngine":
        from papermill.engines import NBClientEngine

        engine = type("LensEngine", (NBClientEngine,), {
            "__module__": __name__,
            "__doc__": "papermill's nbclient engine; `--engine lens` is the same as the default."})
        globals()["LensEngine"] = engine
        return engine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


import json  # noqa: E402  (after __getattr__, which must exist first)
import math  # noqa: E402

from papermill.translators import PythonTranslator, Translator, papermill_translators  # noqa: E402

__all__ = ["LensEngine", "LensTranslator"]


class LensTranslator(Translator):
    """Values as lens source: the lens language reads Python's literal forms."""

    @classmethod
    def translate_str(cls, val):
        # double quotes; control characters as \n, \t or \u00XX; everything
        # else as UTF-8 (the lens lexer decodes the same escapes)
        return json.dumps(val, ensure_ascii=False)

    @classmethod
    def translate_none(cls, val):
        return "None"

    @classmethod
    def translate_bool(cls, val):
        return "True" if val else "False"

    @classmethod
    def translate_int(cls, val):
        return str(int(val))

    @classmethod
    def translate_float(cls, val):
        if math.isnan(val):
            return 'float("nan")'
        if math.isinf(val):
            return 'float("inf")' if val > 0 else '-float("inf")'
        return repr(float(val))

    @classmethod
    def translate_list(cls, val):
        return "[" + ", ".join(cls.translate(v) for v in val) + "]"

    @classmethod
    def translate_dict(cls, val):
        items = (f"{cls.translate(k)}: {cls.translate(v)}" for k, v in val.items())
        return "{" + ", ".join(items) + "}"

    @classmethod
    def comment(cls, cmt_str):
        return f"# {cmt_str}".strip()

    @classmethod
    def inspect(cls, parameters_cell):
        """`papermill --help-notebook`: a lens parameters cell reads as Python's."""
        return PythonTranslator.inspect(parameters_cell)


papermill_translators.register("lens", LensTranslator)
