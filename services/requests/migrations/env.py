from services.common.migrations import run_env
from services.requests.models import Base

run_env(Base.metadata)
