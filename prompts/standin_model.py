"""A STAND-IN FOR A MODEL, not a model: the ``python`` provider of the example eval suite.

No model can be reached from the machines this repository is tested on, so the example
suite (``support-golden.eval.yaml``) calls this deterministic function instead. It reads the
rendered messages the way a model would be given them and answers from a tiny knowledge
base, so that what a prompt change does to the answers, the tokens and the cost is
reproducible. Replace it with ``--provider openai`` (or your app's own call path,
``python:your_module:call_model``) for real evaluations.

Behaviour it imitates:

- tokens: about 4/3 tokens per word of the messages in, of the answer out;
- cost and latency: priced like a small hosted model (see ``PRICE_*``), latency growing with
  tokens;
- it cites article titles only when the system prompt asks it to ("cite the article
  titles"), offers a call-back when the system prompt says so, and opens a ticket with the
  ``create-ticket`` tool for questions its knowledge base cannot answer;
- a system prompt that says "never mention delivery times" makes it leave them out, and
  one that asks it to thank the customer makes it add a line of thanks.
"""

from __future__ import annotations

import json
import re

from promptctl.evals.providers.base import ProviderRequest, ProviderResponse, ToolCall

PRICE_IN_PER_MTOK = 0.15
PRICE_OUT_PER_MTOK = 0.60

ARTICLES = {
    "shipping": ("Shipping and tracking", "Your order {order} is on its way: track it from the "
                 "Orders page; the carrier updates it every few hours."),
    "delivery": ("Delivery times", "Standard delivery takes 3-5 business days; express takes "
                 "1-2 business days."),
    "refund": ("Refunds", "You can ask for a refund within 30 days of delivery from the Orders "
               "page; the money is back in 5 days."),
    "password": ("Account access", "Reset your password from the sign-in page with 'Forgot "
                 "password'; the link is valid for one hour."),
    "invoice": ("Invoices", "Download every invoice as a PDF from Billing, Invoices."),
    "cancel": ("Cancelling a subscription", "Cancel any time from Billing, Subscription; you "
               "keep access until the end of the period."),
    "address": ("Changing the delivery address", "Change the address of an order {order} "
                "from the Orders page until it ships."),
}
KEYWORDS = {
    "shipping": ("parcel", "package", "where is", "tracking", "shipped"),
    "delivery": ("how long", "delivery time", "when will", "arrive"),
    "refund": ("refund", "money back", "return"),
    "password": ("password", "log in", "sign in", "locked out"),
    "invoice": ("invoice", "receipt", "bill"),
    "cancel": ("cancel", "unsubscribe", "stop my subscription"),
    "address": ("address", "moved", "wrong street"),
}


def _tokens(text: str) -> int:
    return round(len(re.findall(r"\S+", text)) * 4 / 3)


def _topic(question: str) -> str | None:
    lowered = question.lower()
    for topic, words in KEYWORDS.items():
        if any(w in lowered for w in words):
            return topic
    return None


def answer(request: ProviderRequest) -> ProviderResponse:
    """The stand-in's answer to one rendered prompt."""
    system = next((m["content"] for m in request.messages if m["role"] == "system"), "")
    lowered = system.lower()
    question = str(request.vars.get("question", ""))
    order = str(request.vars.get("order_id") or "")
    topic = _topic(question)
    tokens_in = sum(_tokens(m["content"]) for m in request.messages)
    calls: tuple[ToolCall, ...] = ()
    if topic is None:
        text = "I could not find this in the knowledge base, so I opened a ticket for you."
        sources: list[str] = []
        escalated = True
        calls = (ToolCall("create-ticket", {"summary": question[:120], "priority": "normal",
                                            **({"order_id": order} if order else {})}),)
    else:
        title, text = ARTICLES[topic]
        text = text.replace(" {order}", f" {order}" if order else "")
        if topic == "delivery" and "never mention delivery times" in lowered:
            text = "Delivery depends on the carrier; see the Orders page."
        sources = [title] if "cite the article titles" in lowered else []
        escalated = False
    if "thank the customer" in lowered:
        name = str(request.vars.get("customer", ""))
        text = f"Thank you for your patience, {name}; we are happy to help. " + text
    if "offer a call-back" in lowered:
        text += " As a premium customer you can also book a call-back."
    body = json.dumps({"answer": text, "sources": sources, "escalated": escalated})
    tokens_out = _tokens(text) + 4 * len(sources) + 6
    cost = (tokens_in * PRICE_IN_PER_MTOK + tokens_out * PRICE_OUT_PER_MTOK) / 1_000_000
    latency = 180 + 0.4 * tokens_in + 9 * tokens_out
    return ProviderResponse(output=body, tool_calls=calls, input_tokens=tokens_in,
                            output_tokens=tokens_out, cost=round(cost, 10),
                            latency_ms=round(latency, 1))
