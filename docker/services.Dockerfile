# The services app: CRM API, channels and web chat (Python 3.11).
FROM python:3.11-slim
WORKDIR /app
COPY requirements/services.txt requirements/services.txt
RUN pip install --no-cache-dir -r requirements/services.txt
COPY crm_bridge crm_bridge
COPY channels channels
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["sh", "-c", "python -m crm_bridge.cli migrate && exec uvicorn crm_bridge.main:create_app --factory --host 0.0.0.0 --port 8000"]
