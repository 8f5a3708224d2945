"""The monitor's one door to Airflow: every module that imports Airflow lives here.

- ``connections``: the monitor store's DSN from an Airflow connection (also used by the scrapers'
  DAG factory for their own databases).
- ``callbacks``: the task callbacks and the cluster policy that attaches them to every task.
- ``tasks``: the bodies of the monitor's own DAG tasks (maintenance, snapshots, alerts).
- ``notifications``: Slack through the provider, and the Deadline Alerts of the scraper DAGs.
- ``web``: the web app as the plugin serves it (Airflow's login, the store's DSN).
- ``task_instances``: a run's task instances and DAG structure, from Airflow's ORM (in the api-server)
  and from its REST API (the CLI) side by side.
- ``rest``: the REST API client (plain ``requests``; the CLI and the local stack use it).

Nothing outside this package (and the scrapers' DAG factory, the migrations' env) imports Airflow;
tests/test_layering.py enforces it. The rules of what a summary holds are plain Python, in
``scraper_monitor.recording``.
"""
