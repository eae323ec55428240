"""Write `ts_xml_reference.json`: the ts_xml definitions dmcs shares, as plain data.

Run from the repository root with the path of ts_xml's `sal_interfaces` folder (or the copy in
the development workspace, `../shared/reference/ts_xml`):

    python tests/sal/extract_ts_xml.py ../shared/reference/ts_xml

The JSON keeps, per component, whether it is indexed, which generic categories it adds, and
every topic's description and fields (name, IDL type, count, units, description) in file order,
so the conformance test can derive the Avro schema ts_salobj registers without the XML.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

COMPONENTS = ("Test", "Script", "ScriptQueue", "OCPS", "MTCamera", "MTHeaderService", "MTOODS")
OUT = Path(__file__).parent / "ts_xml_reference.json"


def _topic(element: ET.Element) -> tuple[str, dict[str, object]]:
    full = element.findtext("EFDB_Topic") or ""
    fields = [
        {
            "name": item.findtext("EFDB_Name"),
            "type": item.findtext("IDL_Type"),
            "count": int(item.findtext("Count") or 1),
            "units": item.findtext("Units") or "unitless",
            "description": (item.findtext("Description") or "").strip(),
        }
        for item in element.findall("item")
    ]
    entry: dict[str, object] = {
        "description": (element.findtext("Description") or "").strip(),
        "fields": fields,
    }
    category = element.findtext("Category")
    if category:
        entry["category"] = category
    return full.split("_", 1)[1], entry


def _topics(path: Path) -> dict[str, dict[str, object]]:
    root = ET.parse(path).getroot()
    kinds = {"SALCommand", "SALEvent", "SALTelemetry"}
    return dict(_topic(e) for e in root.iter() if e.tag in kinds)


def main(source: Path) -> None:
    subsystems = {s.findtext("Name"): s for s in ET.parse(source / "SALSubsystems.xml").getroot()}
    components = {}
    for name in COMPONENTS:
        sub = subsystems[name]
        topics: dict[str, dict[str, object]] = {}
        for path in sorted(source.glob(f"{name}_*.xml")):
            topics.update(_topics(path))
        added = [a.strip() for a in (sub.findtext("AddedGenerics") or "").split(",") if a.strip()]
        components[name] = {
            "indexed": (sub.findtext("IndexEnumeration") or "no") != "no",
            "added_generics": added,
            "topics": topics,
        }
    reference = {
        "source": "lsst-ts/ts_xml sal_interfaces (SALGenerics, SALSubsystems, and the files of "
                  + ", ".join(COMPONENTS) + "; MTCamera: image-cycle events and commands only)",
        "generics": _topics(source / "SALGenerics.xml"),
        "components": components,
    }
    OUT.write_text(json.dumps(reference, indent=1) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
