"""Settings shared by every stage. Topic modules are star-imported so each stays short."""

from config.settings.alerts import *
from config.settings.api import *
from config.settings.auth import *
from config.settings.billing import *
from config.settings.chat import *
from config.settings.core import *
from config.settings.database import *
from config.settings.knowledge import *
from config.settings.logs import *
from config.settings.tasks import *
from config.settings.tenancy import *
from config.settings.usage import *
from config.settings.webhooks import *
from config.settings.widget import *
