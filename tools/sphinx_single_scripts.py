"""A Sphinx extension that keeps one copy of each inline script on a
page.

Sphinx 7 lists a body-only script that an extension adds after the
builder has started twice: once named None, once named ''
(sphinx-thebe's configuration is such a script). Every page then
declared `const THEBE_JS_URL` twice and the browser stopped with a
SyntaxError. Loaded through `sphinx: local_extensions` in _config.yml."""


def drop_repeated_inline_scripts(
    app, pagename, templatename, context, doctree
):
    seen, kept = set(), []
    for script in context.get("script_files", []):
        key = (
            script.filename or "",
            tuple(sorted(script.attributes.items())),
        )
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"][:] = kept


def setup(app):
    app.connect("html-page-context", drop_repeated_inline_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
