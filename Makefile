# The two commands of the README. Both set up .venv from this checkout first.
.PHONY: lab test demo

lab:  ## JupyterLab with notebook-sync-ydoc (embedded store; set REDIS_URL for Redis; ARGS=... to jupyter lab)
	bash scripts/lab.sh $(ARGS)

test:  ## every test: ruff, frontend unit tests, pytest (servers, Redis, merge, browser); ARGS=... to pytest
	bash scripts/test.sh $(ARGS)

demo:  ## a whole lesson in the terminal: a server, a teacher and three students
	bash -c 'source scripts/setup.sh && exec "$${VENV:-.venv}/bin/python" examples/classroom_demo.py'
