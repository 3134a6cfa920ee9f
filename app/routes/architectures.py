"""The network architectures a job can train."""

from dataclasses import asdict

from fastapi import APIRouter

from core.schemas import ArchitecturePublic, ArchitecturesPublic
from models import ARCHITECTURES

router = APIRouter(prefix="/architectures", tags=["models"])


@router.get("")
def read_architectures() -> ArchitecturesPublic:
    """List the architectures `POST /train` accepts, their recipe's defaults and image sizes."""
    data = [
        ArchitecturePublic(
            name=architecture.name,
            description=architecture.description,
            epochs=architecture.recipe.epochs,
            batch_size=architecture.recipe.batch_size,
            input_sizes=asdict(architecture.sizes),
        )
        for architecture in ARCHITECTURES.values()
    ]
    return ArchitecturesPublic(data=data, count=len(data))
