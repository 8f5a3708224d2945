"""The local stack behind `make setup|demo|e2e|stop`: embedded PostgreSQL, Airflow 3.3 on
LocalExecutor (api-server, scheduler, dag-processor, triggerer) and the site simulator, all on
loopback, all state under `.local/`."""
