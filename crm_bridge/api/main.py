"""The CRM API router; every route behind it needs the service token."""

from fastapi import APIRouter, Depends

from channels import push
from crm_bridge.api.deps import require_service_token
from crm_bridge.api.routes import (
    categories,
    conversations,
    display,
    orders,
    repairs,
    surveys,
    tickets,
    units,
)

API_V1_PREFIX = "/api/v1"

api_router = APIRouter(dependencies=[Depends(require_service_token)])
api_router.include_router(units.router)
api_router.include_router(categories.router)
api_router.include_router(tickets.router)
api_router.include_router(push.router)
api_router.include_router(conversations.router)
api_router.include_router(orders.router)
api_router.include_router(orders.display_router)
api_router.include_router(orders.delivery_router)
api_router.include_router(display.router)
api_router.include_router(repairs.router)
api_router.include_router(surveys.router)
