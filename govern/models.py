"""Imports every domain's models so Base.metadata knows all tables (for Alembic and tests)."""

from govern.accounts.models import Network, SocialAccount  # noqa: F401
from govern.alerts.models import Alert, AlertCooldown, InboundItemSeen, InboundVolume  # noqa: F401
from govern.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent, AuditSigningKey, LegalHold  # noqa: F401
from govern.auth.models import ApiClient, ConsoleSession, ConsoleUser, LoginLink  # noqa: F401
from govern.broker.models import AccountConnection, NetworkApp, PendingConnect, WrappedHandoff  # noqa: F401
from govern.credentials.models import Checkout, LegacyCredential  # noqa: F401
from govern.db import Base  # noqa: F401
from govern.directory.models import Departure, OffboardingTask, SyncCursor, SyncRun  # noqa: F401
from govern.evidence.models import EvidenceExport  # noqa: F401
from govern.grants.models import Grant  # noqa: F401
from govern.notifications.models import Notification  # noqa: F401
from govern.outbox.models import OutboxJob  # noqa: F401
from govern.pauses.models import PauseRelease, PublishingPause  # noqa: F401
from govern.people.models import Person  # noqa: F401
from govern.policy.models import RegisteredImage  # noqa: F401
from govern.policy.workflow_models import PolicyException, PolicyViolation  # noqa: F401
from govern.publishing.models import PublishApproval  # noqa: F401
from govern.reviews.models import ReviewCampaign, ReviewItem, ReviewProgress  # noqa: F401
from govern.runbooks.models import Incident, IncidentEvent, Runbook, RunbookStatement, StatementRelease  # noqa: F401
from govern.scim.models import ScimUserAttributes  # noqa: F401
from govern.scim.group_models import ScimConsoleRole, ScimGroup, ScimGroupMember  # noqa: F401
