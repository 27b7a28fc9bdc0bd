"""Page size and position for every list endpoint: one maximum, so no request pulls a whole table."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

MAX_PAGE_SIZE = 200

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Items per page, at most {MAX_PAGE_SIZE}")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip: the next page is offset + limit")]
