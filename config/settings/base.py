"""Settings shared by every stage. Topic modules are star-imported so each stays short."""

from config.settings.core import *  # noqa: F401,F403
from config.settings.tenancy import *  # noqa: F401,F403
from config.settings.database import *  # noqa: F401,F403
from config.settings.auth import *  # noqa: F401,F403
from config.settings.api import *  # noqa: F401,F403
from config.settings.tasks import *  # noqa: F401,F403
from config.settings.billing import *  # noqa: F401,F403
from config.settings.logs import *  # noqa: F401,F403
