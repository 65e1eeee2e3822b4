"""The agent console: pages and API for the people who take over
conversations from the assistant (crm_bridge/console/routes.py)."""
