"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi ...``.

After the app is built, ``gc.freeze()`` moves every object made so far (modules,
the app, SQLAlchemy's mappers and compiled caches) into the permanent generation,
so Python's full collections no longer walk them: without it a full collection
landing inside a large request pauses it for 100-400 ms. It belongs here, in the
long-running entry, not in ``create_app`` (tests build many apps).
"""

import gc

from clinic import create_app

app = create_app()
gc.freeze()
