"""Request dependencies, as Annotated aliases."""

from typing import Annotated

from fastapi import Depends, Query, Request

from app.services import Services


async def get_services(request: Request) -> Services:
    # async: FastAPI would run a plain function in a thread, one trip per request.
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]

# Pagination of every list; the bounds keep values within what a database integer holds.
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1, description="Items to skip.")]
