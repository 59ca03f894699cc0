#!/usr/bin/env python3
"""The GP practice peer: plays the receiving practice over the real MESH API.

It uses NHS England's own Python `mesh-client` (an implementation independent of ours) to read Send
Document messages from the practice mailbox and answer each with ITK3 Responses on the ACK workflow:
by default an infrastructure ack 20013 and then a business ack 30001.

Behaviour per message is chosen by a scenarios file (JSON, re-read on every pass) mapping the ITK3
SenderReference (the encounter id) to a list of steps, done in order, e.g.
  {"enc-1": ["20013", "30001"], "enc-2": [], "enc-3": ["20009"]}
An empty list means "stay silent". Messages with no entry get the default ["20013", "30001"].
Steps:
  "NNNNN"              send an ITK3 Response with that code (any five digits, known or not)
  "delay:S"            send the following steps S seconds later (late acknowledgements); other
                       messages are answered meanwhile
  "dup"                send the previous response again, byte for byte (same Bundle identifier)
  "malformed"          send XML that is not well formed on the ACK workflow
  "unreadable:NNNNN"   response.identifier UNREADABLE-IN-ORIGINAL-MESSAGE, SenderReference None (10009)
  "unknown-id:NNNNN"   response.identifier a random id, SenderReference echoed (second correlation key)
  "workflow:NAME"      send the following steps on MESH workflow NAME instead of <workflow>_ACK
Out of order is just order: ["30001", "20013"] sends the business ack first.

Every received message is recorded as one JSON line in --record (document id, ITK3 message id,
SenderReference, MESH message id), so tests and benchmarks can count what really arrived; with
--sent-record every response sent is recorded too (its MESH message id, step, code, Bundle identifier).
"""
import argparse
import json
import os
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from mesh_client import MeshClient

FHIR = "{http://hl7.org/fhir}"
DEFAULT_CODES = ["20013", "30001"]
DISPLAY = {
    "20013": "Success", "30001": "Patient known here. (e.g. Patient is registered here)",
    "30002": "Patient not known here. (aka 'patient record not present in system')",
    "30003": "Patient no longer at this clinical setting",
    "30004": "Patient known here and recently deceased",
    "20001": "Unrecognised Recipient Person", "20006": "ITK header validation failure",
    "20007": "Duplicate Message received", "20008": "Duplicate Document received",
    "20009": "Payload validation failure", "20014": "Unable to Process Replacement Document",
    "20015": "Message too large", "10009": "Unreadable message received",
    "10001": "Handling Specification Error", "20002": "Unrecognised Recipient Organisation",
}
UNREADABLE = "UNREADABLE-IN-ORIGINAL-MESSAGE"
MALFORMED = b'<Bundle xmlns="http://hl7.org/fhir"><id value="broken"/><type value="message"/><entry><resource><MessageHeader>'

POSITIVE = {"20013", "30001", "30004"}


def val(node, path):
    found = node.find(path)
    return found.get("value") if found is not None else None


def read_message(xml_bytes):
    root = ET.fromstring(xml_bytes)
    header = root.find(f"{FHIR}entry/{FHIR}resource/{FHIR}MessageHeader")
    if header is None:
        raise ValueError("no MessageHeader")
    info = {"messageHeaderId": val(header, f"{FHIR}id"), "sourceEndpoint": val(header, f"{FHIR}source/{FHIR}endpoint")}
    for ext in header.iter(f"{FHIR}extension"):
        if ext.get("url") == "SenderReference":
            info["senderReference"] = val(ext, f"{FHIR}valueString")
    doc = None
    for bundle in root.iter(f"{FHIR}Bundle"):
        if bundle is not root and val(bundle, f"{FHIR}type") == "document":
            doc = bundle
    if doc is not None:
        for comp in doc.iter(f"{FHIR}Composition"):
            info["documentId"] = val(comp, f"{FHIR}identifier/{FHIR}value")
            info["version"] = val(comp, f"{FHIR}meta/{FHIR}versionId")
            relates = comp.find(f"{FHIR}relatesTo")
            if relates is not None:  # a replacement (GPCM-SD-131/132): what it replaces
                info["relatesTo"] = {"code": val(relates, f"{FHIR}code"), "targetIdentifier": val(relates, f"{FHIR}targetIdentifier/{FHIR}value")}
    return info


def response_xml(code, responds_to, sender_reference, practice_mailbox, practice_ods, bundle_id=None):
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    positive = code in POSITIVE
    header_id, org_id, oo_id = (str(uuid.uuid4()) for _ in range(3))
    bundle_id = bundle_id or str(uuid.uuid4())
    severity, issue = ("information", "informational") if positive else ("fatal", "processing")
    return f"""<Bundle xmlns="http://hl7.org/fhir">
  <id value="{bundle_id}"/>
  <meta><profile value="https://fhir.nhs.uk/STU3/StructureDefinition/ITK-Message-Bundle-1"/></meta>
  <identifier><system value="https://tools.ietf.org/html/rfc4122"/><value value="{bundle_id}"/></identifier>
  <type value="message"/>
  <entry>
    <fullUrl value="urn:uuid:{header_id}"/>
    <resource>
      <MessageHeader>
        <id value="{header_id}"/>
        <meta><profile value="https://fhir.nhs.uk/STU3/StructureDefinition/ITK-MessageHeader-2"/></meta>
        <extension url="https://fhir.nhs.uk/STU3/StructureDefinition/Extension-ITK-MessageHandling-2">
          <extension url="BusAckRequested"><valueBoolean value="false"/></extension>
          <extension url="InfAckRequested"><valueBoolean value="false"/></extension>
          <extension url="RecipientType"><valueCoding><system value="https://fhir.nhs.uk/STU3/CodeSystem/ITK-RecipientType-1"/><code value="FA"/><display value="For Action"/></valueCoding></extension>
          <extension url="MessageDefinition"><valueReference><reference value="https://fhir.nhs.uk/STU3/MessageDefinition/ITK-Response-MessageDefinition-1"/></valueReference></extension>
          <extension url="SenderReference"><valueString value="{sender_reference}"/></extension>
          <extension url="LocalExtension"><valueString value="None"/></extension>
        </extension>
        <event><system value="https://fhir.nhs.uk/STU3/CodeSystem/ITK-MessageEvent-2"/><code value="ITK008M"/><display value="ITK Response"/></event>
        <sender><reference value="urn:uuid:{org_id}"/></sender>
        <timestamp value="{now}"/>
        <source><endpoint value="{practice_mailbox}"/></source>
        <response>
          <identifier value="{responds_to}"/>
          <code value="{'ok' if positive else 'fatal-error'}"/>
          <details><reference value="urn:uuid:{oo_id}"/></details>
        </response>
      </MessageHeader>
    </resource>
  </entry>
  <entry>
    <fullUrl value="urn:uuid:{org_id}"/>
    <resource>
      <Organization>
        <id value="{org_id}"/>
        <meta><profile value="https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-ITK-Header-Organization-1"/></meta>
        <identifier><system value="https://fhir.nhs.uk/Id/ods-organization-code"/><value value="{practice_ods}"/></identifier>
      </Organization>
    </resource>
  </entry>
  <entry>
    <fullUrl value="urn:uuid:{oo_id}"/>
    <resource>
      <OperationOutcome>
        <id value="{oo_id}"/>
        <meta><profile value="https://fhir.nhs.uk/STU3/StructureDefinition/ITK-Response-OperationOutcome-1"/></meta>
        <issue>
          <severity value="{severity}"/>
          <code value="{issue}"/>
          <details><coding><system value="https://fhir.nhs.uk/STU3/CodeSystem/ITK-ResponseCodes-1"/><code value="{code}"/><display value="{DISPLAY.get(code, 'Response')}"/></coding></details>
          {'' if positive else '<diagnostics value="Synthetic negative response from the GP practice test peer"/>'}
        </issue>
      </OperationOutcome>
    </resource>
  </entry>
</Bundle>
""".encode("utf-8")


def load_scenarios(path):
    if not path or not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class Peer:
    """Answers Send Document messages; steps after a delay wait in `pending` while others are served."""

    def __init__(self, client, args):
        self.client = client
        self.args = args
        self.pending = []  # (due monotonic time, callable)

    def send(self, reply_to, workflow_id, body, step, code=None, bundle_id=None, sender_reference=None):
        mesh_id = self.client.send_message(
            reply_to,
            body,
            workflow_id=workflow_id,
            local_id=self.args.ods,
            subject=f"ITK3 Response {code or step}",
            filename=f"{uuid.uuid4()}.xml",
        )
        if self.args.sent_record:
            with open(self.args.sent_record, "a", encoding="utf-8") as f:
                f.write(json.dumps({"meshMessageId": mesh_id, "step": step, "code": code, "bundleIdentifier": bundle_id, "workflowId": workflow_id, "senderReference": sender_reference}) + "\n")

    def plan(self, info, msg, steps):
        """Turn steps into sends, now or later."""
        reply_to = info.get("sourceEndpoint") or msg.sender
        workflow_id = f"{msg.workflow_id}_ACK"
        sender_reference = info.get("senderReference") or "None"
        record_ref = info.get("senderReference")
        due = time.monotonic()
        last = None
        for step in steps:
            step = str(step)
            if step.startswith("delay:"):
                due += float(step.split(":", 1)[1])
                continue
            if step.startswith("workflow:"):
                workflow_id = step.split(":", 1)[1]
                continue
            if step == "dup":
                if last is None:
                    continue
                body, code, bundle_id = last
                send = (reply_to, workflow_id, body, "dup", code, bundle_id, record_ref)
            elif step == "malformed":
                send = (reply_to, workflow_id, MALFORMED, "malformed", None, None, record_ref)
            else:
                kind, _, code = step.rpartition(":")
                responds_to, ref = info["messageHeaderId"], sender_reference
                if kind == "unreadable":
                    responds_to, ref = UNREADABLE, "None"
                elif kind == "unknown-id":
                    responds_to = str(uuid.uuid4())
                bundle_id = str(uuid.uuid4())
                body = response_xml(code, responds_to, ref, self.args.mailbox, self.args.ods, bundle_id)
                last = (body, code, bundle_id)
                send = (reply_to, workflow_id, body, step, code, bundle_id, record_ref)
            self.pending.append((due, send))

    def flush(self):
        """Send everything that is due, in the order planned."""
        now = time.monotonic()
        due = [p for p in self.pending if p[0] <= now]
        self.pending = [p for p in self.pending if p[0] > now]
        for _, send in due:
            self.send(*send)

    def process_inbox(self):
        handled = 0
        scenarios = load_scenarios(self.args.scenarios)
        for mesh_id in self.client.iterate_message_ids():
            msg = self.client.retrieve_message(mesh_id)
            if msg.message_type == "REPORT":
                msg.acknowledge()
                continue
            body = msg.read()
            try:
                info = read_message(body)
            except Exception as exc:  # an unreadable message still gets an answer (ITK3 10009 default)
                info = {"messageHeaderId": UNREADABLE, "error": str(exc)}
            info["meshMessageId"] = mesh_id
            info["workflowId"] = msg.workflow_id
            if self.args.record:
                with open(self.args.record, "a", encoding="utf-8") as f:
                    f.write(json.dumps(info) + "\n")
            self.plan(info, msg, scenarios.get(info.get("senderReference") or "", DEFAULT_CODES))
            self.flush()
            msg.acknowledge()
            handled += 1
        self.flush()
        return handled


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("MESH_URL", "http://127.0.0.1:8700"))
    parser.add_argument("--mailbox", default=os.environ.get("GP_MAILBOX_ID", "X26ABC2"))
    parser.add_argument("--password", default=os.environ.get("GP_MAILBOX_PASSWORD", "password"))
    parser.add_argument("--shared-key", default=os.environ.get("MESH_SHARED_KEY", "TestKey"))
    parser.add_argument("--ods", default=os.environ.get("GP_ODS_CODE", "X26"))
    parser.add_argument("--scenarios", help="JSON file: SenderReference -> list of response codes")
    parser.add_argument("--record", help="append one JSON line per received message here")
    parser.add_argument("--sent-record", help="append one JSON line per response sent here")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between inbox polls")
    parser.add_argument("--once", action="store_true", help="process the inbox once and exit")
    args = parser.parse_args()

    with MeshClient(args.url, args.mailbox, args.password, shared_key=args.shared_key.encode(), max_retries=0) as client:
        client.handshake()
        print(f"gp-practice-peer: polling {args.mailbox} at {args.url}", flush=True)
        peer = Peer(client, args)
        while True:
            try:
                n = peer.process_inbox()
                if n:
                    print(f"gp-practice-peer: answered {n} message(s)", flush=True)
            except Exception as exc:  # keep serving; a test sees the missing acks
                print(f"gp-practice-peer: error {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            if args.once and not peer.pending:
                return
            time.sleep(args.interval)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C on `npm run up` reaches the whole process group
        sys.exit(0)
