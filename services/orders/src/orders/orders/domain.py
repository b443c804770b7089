"""Orders as orders' rules see them: what a business asks for, checked against what the
projections know. Plain values, no I/O.

:func:`review_order` takes the requested lines, the buyer and the plans as plain data (the service
reads them from its projections of identity and the catalog) and returns :class:`Accepted` (each
line with the plan terms its subscription is created from) or :class:`Rejected` (every reason
found, per line, in Russian words the customer can act on, each with a machine code). All the
reasons are collected, not just the first: the customer fixes the order in one go.

An order's status follows its subscriptions: it is ``placed`` while being reviewed, ``completed``
once every line has its subscription (created with the order, in the same transaction: that is
what the contract's ``order.completed`` promises), or ``rejected``. What later happens to the
subscriptions (paid, cancelled) does not reopen the order: an order is a record of a purchase.

Buyer requisites (decided here; they are what an invoice and a UPD must print): an active business
organization with a valid INN; a KPP for a legal entity (10-digit INN), none needed for a sole
proprietor (12-digit INN); a legal address. The EDO participant id is *not* required: an invoice
is paid by bank transfer without EDO, and closing documents wait until the buyer joins EDO.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from http import HTTPStatus
from uuid import UUID

from orders.subscriptions.domain import BillingPeriod, PlanTerms
from vitrina_contracts.events.base import inn_is_valid, kpp_is_valid
from vitrina_kit.auth import OrganizationKind
from vitrina_kit.problems import DomainError, InvalidStateTransition, UnprocessableEntity

MAX_LINES = 50
"""An order is a purchase, not an import: more lines than this are refused outright."""


class OrderStatus(StrEnum):
    PLACED = "placed"
    COMPLETED = "completed"
    REJECTED = "rejected"


class ProductStatus(StrEnum):
    """What the catalog projection holds: only products that were published at least once."""

    PUBLISHED = "published"
    RETIRED = "retired"


class ReasonCode(StrEnum):
    """Why an order (or one of its lines) is refused; stable, for programs."""

    # lines
    PLAN_UNKNOWN = "plan_unknown"
    """Not in the catalog projection: never published (a draft), or a mistyped id."""
    PLAN_OF_ANOTHER_PRODUCT = "plan_of_another_product"
    PRODUCT_RETIRED = "product_retired"
    PLAN_NOT_PUBLIC = "plan_not_public"
    QUANTITY_BELOW_MINIMUM = "quantity_below_minimum"
    QUANTITY_ABOVE_MAXIMUM = "quantity_above_maximum"
    DUPLICATE_PLAN = "duplicate_plan"
    # the order as a whole
    NO_LINES = "no_lines"
    TOO_MANY_LINES = "too_many_lines"
    BUYER_UNKNOWN = "buyer_unknown"
    BUYER_NOT_BUSINESS = "buyer_not_business"
    BUYER_NOT_ACTIVE = "buyer_not_active"
    BUYER_INN_INVALID = "buyer_inn_invalid"
    BUYER_KPP_MISSING = "buyer_kpp_missing"
    BUYER_LEGAL_ADDRESS_MISSING = "buyer_legal_address_missing"


UNIT_WORDS = {
    "seat": "мест",
    "organization": "организаций",
    "gb": "ГБ",
    "vcpu": "vCPU",
    "unit": "единиц",
}
"""A quantity's unit as a reason says it ("не более 100 мест"), by the plan's pricing unit."""


@dataclass(frozen=True)
class RequestedLine:
    """One line as the customer sent it. ``product_id`` is optional: when given, the plan must
    be one of that product's (it catches a plan id copied from the wrong product page)."""

    plan_id: UUID
    quantity: int
    product_id: UUID | None = None


@dataclass(frozen=True)
class OfferedPlan:
    """A plan as the catalog projection knows it, with what the reasons need to name it."""

    plan_id: UUID
    product_id: UUID
    partner_id: UUID
    product_name: str
    product_status: ProductStatus
    plan_name: str
    public: bool
    billing_period: BillingPeriod
    pricing_unit: str
    unit_price: Decimal
    """The price of one unit for one period on the order's day (a scheduled price counts from
    its effective date), without VAT."""
    min_quantity: int = 1
    max_quantity: int | None = None
    trial_days: int = 0

    @property
    def terms(self) -> PlanTerms:
        """What the line's subscription is created from."""
        return PlanTerms(
            plan_id=self.plan_id,
            product_id=self.product_id,
            billing_period=self.billing_period,
            unit_price=self.unit_price,
            min_quantity=self.min_quantity,
            max_quantity=self.max_quantity,
            trial_days=self.trial_days,
        )


@dataclass(frozen=True)
class Buyer:
    """The ordering organization as the organizations projection knows it."""

    organization_id: UUID
    kind: str
    status: str | None
    """None: registered before identity had statuses; such organizations count as active."""
    inn: str
    kpp: str | None
    legal_address: str
    edo_participant_id: str | None = None


@dataclass(frozen=True)
class Reason:
    """Why the order cannot be accepted; ``line_no`` is None for the order as a whole."""

    code: ReasonCode
    message: str
    line_no: int | None = None


@dataclass(frozen=True)
class AcceptedLine:
    line_no: int
    plan: OfferedPlan
    quantity: int


@dataclass(frozen=True)
class Accepted:
    lines: tuple[AcceptedLine, ...]


@dataclass(frozen=True)
class Rejected:
    reasons: tuple[Reason, ...]

    @property
    def summary(self) -> str:
        """All reasons in one text (the contract's ``order.rejected`` reason)."""
        return " ".join(
            reason.message
            if reason.line_no is None
            else f"Строка {reason.line_no}: {reason.message}"
            for reason in self.reasons
        )


Verdict = Accepted | Rejected


def review_order(
    lines: Sequence[RequestedLine],
    *,
    buyer: Buyer | None,
    plans: Mapping[UUID, OfferedPlan],
) -> Verdict:
    """Accept the order or say everything that is wrong with it.

    ``plans`` needs only the plans the lines name (absent: unknown). Lines are numbered from 1 in
    the order given.
    """
    reasons = list(_buyer_reasons(buyer))
    if not lines:
        reasons.append(Reason(ReasonCode.NO_LINES, "В заказе нет ни одной строки."))
    elif len(lines) > MAX_LINES:
        reasons.append(
            Reason(
                ReasonCode.TOO_MANY_LINES,
                f"В заказе {len(lines)} строк, допустимо не более {MAX_LINES}.",
            )
        )
    accepted: list[AcceptedLine] = []
    first_line_of: dict[UUID, int] = {}
    for line_no, line in enumerate(lines[:MAX_LINES], start=1):
        plan = plans.get(line.plan_id)
        line_reasons = _line_reasons(line, plan, first_line_of.get(line.plan_id))
        first_line_of.setdefault(line.plan_id, line_no)
        reasons.extend(replace(reason, line_no=line_no) for reason in line_reasons)
        if plan is not None and not line_reasons:
            accepted.append(AcceptedLine(line_no, plan, line.quantity))
    if reasons:
        return Rejected(tuple(reasons))
    return Accepted(tuple(accepted))


def _line_reasons(
    line: RequestedLine, plan: OfferedPlan | None, first_line_no: int | None
) -> list[Reason]:
    if plan is None:
        return [
            Reason(
                ReasonCode.PLAN_UNKNOWN,
                f"Тариф {line.plan_id} не найден в каталоге; выберите тариф на странице продукта.",
            )
        ]
    named = f"Тариф «{plan.plan_name}» продукта «{plan.product_name}»"
    if line.product_id is not None and line.product_id != plan.product_id:
        return [
            Reason(
                ReasonCode.PLAN_OF_ANOTHER_PRODUCT,
                f"{named} не относится к указанному продукту; "
                "проверьте, какой продукт заказываете.",
            )
        ]
    if plan.product_status is not ProductStatus.PUBLISHED:
        return [
            Reason(
                ReasonCode.PRODUCT_RETIRED,
                f"Продукт «{plan.product_name}» снят с продажи; выберите другой продукт.",
            )
        ]
    if not plan.public:
        return [
            Reason(
                ReasonCode.PLAN_NOT_PUBLIC,
                f"{named} продаётся только по индивидуальному предложению; "
                "обратитесь к оператору витрины.",
            )
        ]
    if first_line_no is not None:
        return [
            Reason(
                ReasonCode.DUPLICATE_PLAN,
                f"{named} уже заказан в строке {first_line_no}; "
                "укажите нужное количество в одной строке.",
            )
        ]
    unit = UNIT_WORDS.get(plan.pricing_unit, "единиц")
    if line.quantity < plan.min_quantity:
        return [
            Reason(
                ReasonCode.QUANTITY_BELOW_MINIMUM,
                f"{named} допускает не менее {plan.min_quantity} {unit}, заказано {line.quantity}.",
            )
        ]
    if plan.max_quantity is not None and line.quantity > plan.max_quantity:
        return [
            Reason(
                ReasonCode.QUANTITY_ABOVE_MAXIMUM,
                f"{named} допускает не более {plan.max_quantity} {unit}, заказано {line.quantity}.",
            )
        ]
    return []


def _buyer_reasons(buyer: Buyer | None) -> list[Reason]:
    if buyer is None:
        # Identity's event may not have reached orders yet: a retry in a moment will do.
        return [
            Reason(
                ReasonCode.BUYER_UNKNOWN,
                "Ваша организация ещё не известна витрине; повторите заказ через минуту "
                "или обратитесь в поддержку.",
            )
        ]
    if buyer.kind != "business":
        return [
            Reason(
                ReasonCode.BUYER_NOT_BUSINESS,
                "Заказывать могут только организации-покупатели; "
                "партнёры и оператор витрины не заказывают.",
            )
        ]
    reasons: list[Reason] = []
    if buyer.status not in (None, "active"):
        reasons.append(
            Reason(
                ReasonCode.BUYER_NOT_ACTIVE,
                "Регистрация вашей организации ещё не подтверждена оператором витрины.",
            )
        )
    if not inn_is_valid(buyer.inn):
        reasons.append(
            Reason(
                ReasonCode.BUYER_INN_INVALID,
                "ИНН организации указан неверно; исправьте реквизиты в профиле организации.",
            )
        )
    # A legal entity (10-digit INN) prints its KPP on every invoice; a sole proprietor has none.
    elif len(buyer.inn) == 10 and (buyer.kpp is None or not kpp_is_valid(buyer.kpp)):
        reasons.append(
            Reason(
                ReasonCode.BUYER_KPP_MISSING,
                "В реквизитах организации нет КПП; добавьте его в профиле организации.",
            )
        )
    if not buyer.legal_address.strip():
        reasons.append(
            Reason(
                ReasonCode.BUYER_LEGAL_ADDRESS_MISSING,
                "В реквизитах организации нет юридического адреса; "
                "добавьте его в профиле организации.",
            )
        )
    return reasons


def check_may_order(kind: OrganizationKind) -> None:
    """Businesses buy; partners and the operator sell, so their clients never order.

    The token says so before any projection is read (the buyer's requisites are reviewed
    afterwards, by :func:`review_order`)."""
    if kind is not OrganizationKind.BUSINESS:
        raise OnlyBusinessesOrder()


class OnlyBusinessesOrder(DomainError):
    status = HTTPStatus.FORBIDDEN
    code = "only_businesses_order"
    title = "Only business organizations place orders"

    def __init__(self) -> None:
        super().__init__("Partners and the operator sell on the marketplace; they do not order.")


class OrderNotAccepted(UnprocessableEntity):
    """A rejected order as the customer reads it: every reason, each with its line."""

    code = "order_rejected"
    title = "The order cannot be accepted"

    def __init__(self, rejection: Rejected) -> None:
        super().__init__(
            rejection.summary,
            reasons=[
                {"code": str(reason.code), "line_no": reason.line_no, "message": reason.message}
                for reason in rejection.reasons
            ],
        )


# The order's own lifecycle ----------------------------------------------------------------------


class OrderCannotBeDecided(InvalidStateTransition):
    code = "order_already_decided"
    title = "The order was already completed or rejected"

    def __init__(self, status: OrderStatus) -> None:
        super().__init__(f"The order is {status}; it is decided once.", order_status=str(status))


@dataclass(frozen=True)
class OrderLineRecord:
    """A line as stored: what was ordered and, once created, its subscription."""

    line_no: int
    plan_id: UUID
    product_id: UUID | None
    """None only on a rejected line whose plan the catalog does not know."""
    quantity: int
    subscription_id: UUID | None = None


@dataclass(frozen=True)
class Order:
    """placed ──complete──▶ completed, or placed ──reject──▶ rejected; nothing else."""

    order_id: UUID
    customer_id: UUID
    status: OrderStatus
    lines: tuple[OrderLineRecord, ...]
    rejection: Rejected | None = None

    @classmethod
    def place(
        cls,
        *,
        order_id: UUID,
        customer_id: UUID,
        lines: Sequence[RequestedLine],
        plans: Mapping[UUID, OfferedPlan],
    ) -> Order:
        """A new order, ``placed``, its lines numbered from 1 as given."""
        records = tuple(
            OrderLineRecord(
                line_no=line_no,
                plan_id=line.plan_id,
                product_id=plans[line.plan_id].product_id
                if line.plan_id in plans
                else line.product_id,
                quantity=line.quantity,
            )
            for line_no, line in enumerate(lines, start=1)
        )
        return cls(order_id, customer_id, OrderStatus.PLACED, records)

    def complete(self, subscription_ids: dict[int, UUID]) -> Order:
        """Every line has its subscription (``subscription_ids`` by line number)."""
        if self.status is not OrderStatus.PLACED:
            raise OrderCannotBeDecided(self.status)
        if set(subscription_ids) != {line.line_no for line in self.lines}:
            raise ValueError("an order completes when every line has its subscription")
        lines = tuple(
            replace(line, subscription_id=subscription_ids[line.line_no]) for line in self.lines
        )
        return replace(self, status=OrderStatus.COMPLETED, lines=lines)

    def reject(self, rejection: Rejected) -> Order:
        if self.status is not OrderStatus.PLACED:
            raise OrderCannotBeDecided(self.status)
        return replace(self, status=OrderStatus.REJECTED, rejection=rejection)
