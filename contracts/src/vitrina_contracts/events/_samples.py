"""One coherent story the events' examples share, so examples of different topics fit together.

ООО «Ромашка» (a business) orders ten seats of «Проектная доска», a project-management SaaS
that ООО «Облачные решения» (a partner) sells through the marketplace run by АО «Витрина»
(the operator). The requisites have the right shape and valid check digits, but are invented.
Ids are fixed so the generated documents do not change from one run to the next.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

OPERATOR_ID = UUID("0b7e4f0a-3c59-4f0e-9a51-6a0c2d1e0001")
PARTNER_ID = UUID("0b7e4f0a-3c59-4f0e-9a51-6a0c2d1e0002")
CUSTOMER_ID = UUID("0b7e4f0a-3c59-4f0e-9a51-6a0c2d1e0003")

PRODUCT_ID = UUID("5f1d2c3b-8a7e-4e6f-b1c2-0d9e8f7a0001")
PLAN_STANDARD_ID = UUID("5f1d2c3b-8a7e-4e6f-b1c2-0d9e8f7a0101")
PLAN_BUSINESS_ID = UUID("5f1d2c3b-8a7e-4e6f-b1c2-0d9e8f7a0102")

ORDER_ID = UUID("9c4a6b2d-1e3f-4a5b-8c7d-6e5f4a3b0001")
SUBSCRIPTION_ID = UUID("9c4a6b2d-1e3f-4a5b-8c7d-6e5f4a3b0101")

INVOICE_ID = UUID("d2e8f4a6-7b9c-4d1e-a3f5-b7c9d1e30001")
CLOSING_DOCUMENT_ID = UUID("d2e8f4a6-7b9c-4d1e-a3f5-b7c9d1e30002")
CREDIT_NOTE_ID = UUID("d2e8f4a6-7b9c-4d1e-a3f5-b7c9d1e30003")
PAYMENT_ID = UUID("d2e8f4a6-7b9c-4d1e-a3f5-b7c9d1e30101")
SETTLEMENT_ID = UUID("d2e8f4a6-7b9c-4d1e-a3f5-b7c9d1e30201")

EDO_DOCUMENT_ID = UUID("7a3c5e7f-9b1d-4f3a-8c5e-7f9b1d3f0001")
BANK_PAYMENT_ID = UUID("7a3c5e7f-9b1d-4f3a-8c5e-7f9b1d3f0101")
PROVISIONING_ID = UUID("7a3c5e7f-9b1d-4f3a-8c5e-7f9b1d3f0201")

OPERATOR_NAME = "АО «Витрина»"
OPERATOR_INN = "7704123450"
OPERATOR_KPP = "770401001"
OPERATOR_OGRN = "1027700123450"
OPERATOR_ADDRESS = "123112, г. Москва, Пресненская наб., д. 12"
OPERATOR_EDO_ID = "2BM-7704123450-770401001-000000000000001"

PARTNER_NAME = "ООО «Облачные решения»"
PARTNER_INN = "7802543212"
PARTNER_KPP = "780201001"
PARTNER_OGRN = "1177847123453"
PARTNER_ADDRESS = "194044, г. Санкт-Петербург, Выборгская ул., д. 5, оф. 301"

CUSTOMER_NAME = "ООО «Ромашка»"
CUSTOMER_INN = "5012345672"
CUSTOMER_KPP = "501201001"
CUSTOMER_OGRN = "1215000123458"
CUSTOMER_ADDRESS = "143900, Московская обл., г. Балашиха, ул. Советская, д. 3"
CUSTOMER_EDO_ID = "2BM-5012345672-501201001-000000000000042"
CUSTOMER_ACCOUNT = "40702810900000012345"

SEATS = 10
SEAT_PRICE = Decimal("450.00")
"""The Standard plan's monthly price per seat, without VAT."""

ORDERED_AT = datetime(2025, 11, 17, 9, 30, tzinfo=UTC)
INVOICE_NUMBER = "2025-000123"
INVOICE_ISSUED_ON = date(2025, 11, 30)
INVOICE_DUE_ON = date(2025, 12, 10)
