# The Airflow image of docker-compose.yaml: the official 3.3.2 image with the project's pinned
# requirements (the same versions the local stack and CI run, the Celery provider among them).
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt
