from services.common.migrations import run_env
from services.federation.models import Base

run_env(Base.metadata)
