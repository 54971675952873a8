"""A real OpenLDAP slapd on a free loopback port, from a throwaway slapd.conf: accesslog, syncprov, ppolicy, AD schema."""

from __future__ import annotations

import ipaddress
import re
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ldap3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.standin import ProcessStandIn, free_port

SUFFIX = "dc=example,dc=com"
ADMIN_DN = f"cn=admin,{SUFFIX}"
SERVICE_DN = f"cn=govern,ou=services,{SUFFIX}"  # govern's own read-only account
WRITER_DN = f"cn=hr,ou=services,{SUFFIX}"  # an HR tool that writes people, to tell changes apart by author
LIMITED_DN = f"cn=limited,ou=services,{SUFFIX}"  # like the service account, but with a size limit of 5
GROUP_DN = f"cn=social-media,ou=groups,{SUFFIX}"
POLICY_DN = f"cn=default,ou=policies,{SUFFIX}"  # ppolicy enforces locks only where a policy applies
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")

# An HR end date as generalizedTime (a directory rarely has a standard one, so companies add their own); the two
# root DSE attributes of an AD domain controller that uSNChanged tracking reads; and AD's securityPrincipal class,
# which holds sAMAccountName and which msuser.schema lacks (AD users carry it as an auxiliary class); and a class
# for `department`, which AD's organizationalPerson allows and the standard one does not.
TEST_SCHEMA = """\
attributetype ( 1.3.6.1.4.1.55555.1.1 NAME 'governEndDate'
    EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.2.1 NAME 'governPerson' SUP top AUXILIARY MAY governEndDate )
attributetype ( 1.3.6.1.4.1.55555.1.2 NAME 'highestCommittedUSN' EQUALITY integerMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.55555.1.3 NAME 'defaultNamingContext' EQUALITY distinguishedNameMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
objectclass ( 1.2.840.113556.1.5.6 NAME 'securityPrincipal' SUP top AUXILIARY MAY sAMAccountName )
objectclass ( 1.3.6.1.4.1.55555.2.2 NAME 'governAdPerson' SUP top AUXILIARY MAY department )
"""
# What an AD domain controller's root DSE says about change tracking; here it stays put (tests move uSNChanged by hand).
HIGHEST_COMMITTED_USN = 5000
ROOT_DSE = f"dn:\nhighestCommittedUSN: {HIGHEST_COMMITTED_USN}\ndefaultNamingContext: {SUFFIX}\n"


# Debian's msuser.schema is "informational": it gives no attribute a matching rule, so AD's everyday filters
# ((sAMAccountName=x), (objectGUID=\\..), (uSNChanged>=n)) would never match. The copy the tests load adds them.
AD_MATCHING_RULES = {
    "sAMAccountName": "EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch",
    "objectGUID": "EQUALITY octetStringMatch",
    "userAccountControl": "EQUALITY integerMatch",
    "accountExpires": "EQUALITY integerMatch ORDERING integerOrderingMatch",
    "uSNChanged": "EQUALITY integerMatch ORDERING integerOrderingMatch",
}


def _ad_schema() -> str:
    text = (SCHEMA_DIR / "msuser.schema").read_text()
    for name, rules in AD_MATCHING_RULES.items():
        text, found = re.subn(rf"(NAME '{name}'\s*\n)(\s*)(SYNTAX)", rf"\g<1>\g<2>{rules}\n\g<2>\g<3>", text)
        if found != 1:
            raise RuntimeError(f"msuser.schema: cannot find the definition of {name}")
    return text


def slapd_binary() -> str | None:
    return shutil.which("slapd") or next((str(p) for p in [Path("/usr/sbin/slapd")] if p.exists()), None)


def _write_certificates(workdir: Path) -> None:
    """A throwaway CA (ca.pem) and a server certificate for 127.0.0.1 and localhost only, signed by it."""
    now = datetime.now(UTC)

    def certificate(subject: str, key, issuer: str, issuer_key, ca: bool, names=()):
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("govern test CA", ca_key, "govern test CA", ca_key, True)
    server = certificate("localhost", server_key, "govern test CA", ca_key, False,
                         [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    (workdir / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (workdir / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (workdir / "server.key").write_bytes(server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def _config(workdir: Path, passwords: dict[str, str]) -> str:
    includes = "\n".join(f"include {SCHEMA_DIR / name}.schema" for name in ("core", "cosine", "nis", "inetorgperson"))
    return f"""\
{includes}
include {workdir / "msuser.schema"}
include {workdir / "govern-test.schema"}
modulepath {MODULE_DIR}
moduleload back_mdb
moduleload syncprov
moduleload accesslog
moduleload ppolicy
rootDSE {workdir / "rootdse.ldif"}
TLSCACertificateFile {workdir / "ca.pem"}
TLSCertificateFile {workdir / "server.pem"}
TLSCertificateKeyFile {workdir / "server.key"}
pidfile {workdir / "slapd.pid"}
argsfile {workdir / "slapd.args"}

database mdb
suffix "cn=accesslog"
directory {workdir / "accesslog"}
maxsize 1073741824
index default eq
index entryCSN,objectClass,reqEnd,reqResult,reqStart,reqDN eq
overlay syncprov
syncprov-nopresent TRUE
syncprov-reloadhint TRUE
limits dn.exact="{SERVICE_DN}" size=unlimited time=unlimited
access to * by dn.exact="{SERVICE_DN}" read by dn.exact="{ADMIN_DN}" read by * none

database mdb
suffix "{SUFFIX}"
rootdn "{ADMIN_DN}"
rootpw {passwords["admin"]}
directory {workdir / "data"}
maxsize 2147483648
index objectClass,entryUUID,entryCSN,uid,mail,sAMAccountName,member eq
limits dn.exact="{SERVICE_DN}" size=unlimited time=unlimited
limits dn.exact="{LIMITED_DN}" size=5
overlay syncprov
overlay accesslog
logdb cn=accesslog
logops writes
logsuccess TRUE
logpurge 00+01:00 00+00:10
overlay ppolicy
ppolicy_default "{POLICY_DN}"
access to attrs=userPassword by dn.exact="{WRITER_DN}" write by self =xw by anonymous auth by * none
access to * by dn.exact="{WRITER_DN}" write by users read by * none
"""


def _seed_ldif(passwords: dict[str, str]) -> str:
    def service(dn: str, name: str) -> str:
        return (f"dn: {dn}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\n"
                f"cn: {name}\nuserPassword: {passwords[name]}\n")

    return "\n".join([
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n",
        *(f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}\n" for ou in ("people", "groups", "services", "ad", "alumni", "policies")),
        f"dn: {POLICY_DN}\nobjectClass: organizationalRole\nobjectClass: pwdPolicy\ncn: default\n"
        "pwdAttribute: userPassword\npwdLockout: TRUE\npwdMaxFailure: 5\n",
        service(SERVICE_DN, "govern"),
        service(WRITER_DN, "hr"),
        service(LIMITED_DN, "limited"),
        # groupOfNames needs a member; the service account is one that is never a person
        f"dn: {GROUP_DN}\nobjectClass: groupOfNames\ncn: social-media\nmember: {SERVICE_DN}\n",
    ])


@dataclass
class Slapd(ProcessStandIn):
    url: str  # ldap:// (StartTLS offered)
    ldaps_url: str  # ldaps:// with a certificate for 127.0.0.1 and localhost, from the CA in ca_file
    wrong_name_url: str  # the same ldaps:// listener, reached by a name its certificate does not carry
    ca_file: str
    base_dn: str
    bind_dn: str
    bind_password: str
    admin_dn: str
    admin_password: str
    writer_dn: str
    writer_password: str
    limited_dn: str
    limited_password: str
    group_dn: str
    workdir: Path

    name = "slapd"
    ready_within = 20.0

    def connection(self, as_: str = "admin") -> ldap3.Connection:
        """A bound plain connection for arranging a test: "admin" (rootdn) or "writer" (the HR account)."""
        dn, password = (self.admin_dn, self.admin_password) if as_ == "admin" else (self.writer_dn, self.writer_password)
        return ldap3.Connection(ldap3.Server(self.url, get_info=ldap3.NONE), dn, password, auto_bind=True, raise_exceptions=True)

    # -- the stand-in's lifecycle: start() may start it again, on the same port and data --

    def _launch(self) -> None:
        self._spawn([slapd_binary(), "-f", str(self.workdir / "slapd.conf"),
                     "-h", f"{self.url} {self.ldaps_url} {self.wrong_name_url}", "-d", "0"], self.workdir / "slapd.log")

    def _ready(self) -> bool:
        """It answers a bind."""
        try:
            with socket.create_connection(("127.0.0.1", int(self.url.rsplit(":", 1)[1])), timeout=1):
                pass
            self.connection().unbind()
            return True
        except (OSError, ldap3.core.exceptions.LDAPException):
            return False


def start_slapd(workdir: Path, extra_ldif: Path | None = None) -> Slapd:
    """Write slapd.conf, seed the tree with slapadd, start slapd; FileNotFoundError/RuntimeError if it cannot run."""
    binary = slapd_binary()
    if binary is None:
        raise FileNotFoundError("slapd is missing (tests/support/system-deps.sh installs it: apt-get install slapd ldap-utils)")
    missing = [str(p) for p in (SCHEMA_DIR / "msuser.schema", MODULE_DIR / "back_mdb.so", MODULE_DIR / "accesslog.so") if not p.exists()]
    if missing:
        raise FileNotFoundError(f"slapd is installed without {', '.join(missing)}")
    workdir = Path(workdir)
    for sub in ("data", "accesslog"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    passwords = {name: f"{name}-{uuid.uuid4().hex[:12]}" for name in ("admin", "govern", "hr", "limited")}
    (workdir / "govern-test.schema").write_text(TEST_SCHEMA)
    (workdir / "msuser.schema").write_text(_ad_schema())
    (workdir / "rootdse.ldif").write_text(ROOT_DSE)
    _write_certificates(workdir)
    (workdir / "slapd.conf").write_text(_config(workdir, passwords))
    (workdir / "seed.ldif").write_text(_seed_ldif(passwords))
    seeded = subprocess.run(
        [str(Path(binary).parent / "slapadd"), "-f", str(workdir / "slapd.conf"), "-b", SUFFIX, "-l", str(workdir / "seed.ldif")],
        capture_output=True, text=True,
    )
    if seeded.returncode != 0:
        raise RuntimeError(f"slapadd failed: {seeded.stderr.strip()[-500:]}")
    if extra_ldif is not None:  # e.g. a benchmark's generated directory, loaded offline (much faster than adds)
        loaded = subprocess.run(
            [str(Path(binary).parent / "slapadd"), "-q", "-f", str(workdir / "slapd.conf"), "-b", SUFFIX, "-l", str(extra_ldif)],
            capture_output=True, text=True,
        )
        if loaded.returncode != 0:
            raise RuntimeError(f"slapadd of {extra_ldif} failed: {loaded.stderr.strip()[-500:]}")
    tls_port = free_port()
    server = Slapd(
        url=f"ldap://127.0.0.1:{free_port()}", ldaps_url=f"ldaps://127.0.0.1:{tls_port}",
        wrong_name_url=f"ldaps://127.0.0.2:{tls_port}", ca_file=str(workdir / "ca.pem"), base_dn=SUFFIX,
        bind_dn=SERVICE_DN, bind_password=passwords["govern"],
        admin_dn=ADMIN_DN, admin_password=passwords["admin"],
        writer_dn=WRITER_DN, writer_password=passwords["hr"],
        limited_dn=LIMITED_DN, limited_password=passwords["limited"],
        group_dn=GROUP_DN, workdir=workdir,
    )
    server.start()
    return server
