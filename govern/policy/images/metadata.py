"""What an image's metadata says: rights claims (EXIF Artist/Copyright, XMP dc:*), GPS, and whose names they are."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import ExifTags, Image


@dataclass(frozen=True)
class RightsClaim:
    """A name in the image's metadata that claims authorship or rights (EXIF Artist/Copyright, XMP dc:*)."""

    source: str  # exif_copyright | exif_artist | xmp_rights | xmp_creator
    holder: str


_XMP_RIGHTS_FIELDS = {"rights": "xmp_rights", "creator": "xmp_creator"}
_DC_NAMESPACE = "http://purl.org/dc/elements/1.1/"
_XMP_GPS = re.compile(rb"GPS(?:Latitude|Longitude)")


def read_metadata(image: Image.Image) -> tuple[tuple[RightsClaim, ...], str | None]:
    claims: list[RightsClaim] = []
    exif = image.getexif()
    for tag, source in ((ExifTags.Base.Copyright, "exif_copyright"), (ExifTags.Base.Artist, "exif_artist")):
        for holder in _text_values(exif.get(tag)):
            claims.append(RightsClaim(source, holder))
    gps_source = None
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    if ExifTags.GPS.GPSLatitude in gps or ExifTags.GPS.GPSLongitude in gps:
        gps_source = "exif_gps"
    xmp = raw_xmp(image)
    if xmp:
        claims.extend(_xmp_claims(xmp))
        if gps_source is None and _XMP_GPS.search(xmp):
            gps_source = "xmp_gps"
    unique = tuple(dict.fromkeys(claims))
    return unique, gps_source


def _text_values(value: object) -> list[str]:
    """EXIF text is ASCII or UTF-8, sometimes several NUL-separated names (photographer, then editor)."""
    if value is None:
        return []
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return [part.strip() for part in str(value).split("\x00") if part.strip()]


def raw_xmp(image: Image.Image) -> bytes | None:
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    return xmp or None


def _xmp_claims(xmp: bytes) -> list[RightsClaim]:
    """dc:rights and dc:creator of the XMP packet, parsed with defusedxml (no entity expansion)."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    start, end = xmp.find(b"<x:xmpmeta"), xmp.rfind(b"</x:xmpmeta>")
    packet = xmp[start:end + len(b"</x:xmpmeta>")] if start >= 0 and end > start else xmp
    try:
        root = ElementTree.fromstring(packet)
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        return []
    claims = []
    for element in root.iter():
        namespace, _, local = element.tag.partition("}")
        if namespace.lstrip("{") == _DC_NAMESPACE and local in _XMP_RIGHTS_FIELDS:
            for text in element.itertext():
                if text.strip():
                    claims.append(RightsClaim(_XMP_RIGHTS_FIELDS[local], text.strip()))
        for name, value in element.attrib.items():  # the short form: <rdf:Description dc:rights="...">
            attr_namespace, _, attr_local = name.partition("}")
            if attr_namespace.lstrip("{") == _DC_NAMESPACE and attr_local in _XMP_RIGHTS_FIELDS and value.strip():
                claims.append(RightsClaim(_XMP_RIGHTS_FIELDS[attr_local], value.strip()))
    return claims


# Words that say nothing about who holds the rights; a field made only of them is ignored.
_BOILERPLATE_WORDS = frozenset(
    "all rights reserved unknown none n a na owner author artist photographer public domain the by".split()
)
_LEGAL_SUFFIXES = re.compile(
    r"\b(?:inc|ltd|llc|plc|gmbh|corp|corporation|co|company|group|sa|ag|bv|limited|בע\"?מ|ש\.?م\.?م)\b\.?",
    re.IGNORECASE,
)


def name_key(text: str) -> str:
    """Casefolded words only, so 'ACME Ltd.' and 'acme' compare equal."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"©|\(c\)|copyright|all rights reserved|\d{4}(?:\s*[-–]\s*\d{4})?", " ", text)
    text = _LEGAL_SUFFIXES.sub(" ", text)
    return " ".join(re.findall(r"\w+", text))


def names_company(holder: str, company_names: Sequence[str]) -> bool:
    holder_key = name_key(holder)
    if not holder_key:
        return False
    for company in company_names:
        company_key = name_key(company)
        if company_key and (
            re.search(rf"(?<!\w){re.escape(company_key)}(?!\w)", holder_key)
            or re.search(rf"(?<!\w){re.escape(holder_key)}(?!\w)", company_key)
        ):
            return True
    return False


def third_party_claims(claims: Sequence[RightsClaim], company_names: Sequence[str]) -> list[RightsClaim]:
    """The metadata rights claims that name someone other than the company (generic boilerplate ignored)."""
    return [
        claim for claim in claims
        if set(name_key(claim.holder).split()) - _BOILERPLATE_WORDS
        and not names_company(claim.holder, company_names)
    ]
