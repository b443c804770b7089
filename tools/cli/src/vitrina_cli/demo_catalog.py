"""The demo catalog's data: five partner organizations and the operator, and the products each
of them sells, in the shape identity's and catalog's APIs take them. ``seed.py`` loads it.

Every requisite here is invented: the INNs, KPPs and OGRNs name tax office 99 of their region,
which does not exist, and carry correct check digits (identity refuses any other); the bank is
"Демобанк" with a made-up BIK and accounts keyed to it; e-mail and web addresses are under
``.example`` (RFC 2606), which never resolves.

Prices are rubles as Decimal strings. Software from the register of Russian software is sold
without VAT (Tax Code art. 149 p. 2 sub. 26), so its plans are ``exempt``; hosting, telecom and
other services carry VAT (``standard``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# A fictional bank: its correspondent account and each partner's settlement account pass the
# Bank of Russia's control key against this BIK.
_DEMO_BANK = {
    "bank_name": "АО «Демобанк»",
    "bik": "044599999",
    "correspondent_account": "30101810300000000999",
}


@dataclass(frozen=True)
class DemoPartner:
    """A partner organization the operator registers, and the products it then offers."""

    key: str
    """Stable name of the partner in the seed (its Idempotency-Keys, seed.json)."""
    registration: dict[str, Any]
    """The body of identity's ``POST /organizations``."""
    products: tuple[dict[str, Any], ...]
    """Bodies of catalog's ``POST /products``, created with the partner's own token."""

    @property
    def name(self) -> str:
        return str(self.registration["short_name"])


def plan(
    code: str,
    name: str,
    *,
    unit: str,
    price: str,
    period: str = "month",
    vat: str = "standard",
    trial_days: int = 0,
    min_quantity: int = 1,
    max_quantity: int | None = None,
    public: bool = True,
) -> dict[str, Any]:
    """A plan as catalog's ``PlanCreate`` takes it; the defaults are the common case (monthly,
    with VAT, public, no trial)."""
    return {
        "code": code,
        "name": name,
        "billing_period": period,
        "pricing_unit": unit,
        "unit_price": price,
        "vat_mode": vat,
        "min_quantity": min_quantity,
        "max_quantity": max_quantity,
        "trial_days": trial_days,
        "public": public,
    }


def _partner(
    key: str,
    *,
    legal_name: str,
    short_name: str,
    inn: str,
    kpp: str,
    ogrn: str,
    address: str,
    settlement_account: str,
    domain: str,
    phone: str,
    products: tuple[dict[str, Any], ...],
) -> DemoPartner:
    registration = {
        "kind": "partner",
        "legal_name": legal_name,
        "short_name": short_name,
        "inn": inn,
        "kpp": kpp,
        "ogrn": ogrn,
        "legal_address": address,
        "bank_details": {**_DEMO_BANK, "settlement_account": settlement_account},
        "contact_email": f"partners@{domain}",
        "contact_phone": phone,
    }
    return DemoPartner(key=key, registration=registration, products=products)


def _support(domain: str, phone: str, hours: str = "круглосуточно") -> dict[str, str]:
    return {
        "email": f"support@{domain}",
        "phone": phone,
        "url": f"https://{domain}/support",
        "hours": hours,
    }


# -- the operator's own products ------------------------------------------------------------

_OPERATOR_DOMAIN = "vitrina-telecom.example"
_OPERATOR_SUPPORT = _support(_OPERATOR_DOMAIN, "+7 800 000-00-00")

OPERATOR_PRODUCTS: tuple[dict[str, Any], ...] = (
    {
        "slug": "cloud-server",
        "name": "Облачный сервер",
        "short_description": (
            "Виртуальный сервер в дата-центре оператора: SSD-диски, публичный IPv4, "
            "ежедневные снимки. Разворачивается за минуту."
        ),
        "description": (
            "Облачный сервер (VPS/VDS) в дата-центре оператора уровня Tier III в Москве. "
            "Выбирайте готовую конфигурацию или платите за каждый vCPU. Образы Ubuntu, Debian, "
            "Astra Linux, РЕД ОС и Windows Server, публичный IPv4, приватная сеть между "
            "серверами, ежедневные снимки дисков. Данные хранятся в России (152-ФЗ)."
        ),
        "category": "cloud",
        "tags": ["VPS", "IaaS", "облачный сервер", "152-ФЗ"],
        "documentation_url": f"https://docs.{_OPERATOR_DOMAIN}/cloud-server",
        "support": _OPERATOR_SUPPORT,
        "plans": [
            plan("start", "Старт: 2 vCPU, 4 ГБ RAM, 40 ГБ SSD", unit="unit", price="1490.00",
                 trial_days=7, max_quantity=20),
            plan("flex", "Гибкий: оплата за каждый vCPU", unit="vcpu", price="590.00",
                 min_quantity=2, max_quantity=64),
            plan("start-year", "Старт на год: 2 vCPU, 4 ГБ RAM, 40 ГБ SSD", unit="unit",
                 price="15190.00", period="year", max_quantity=20),
        ],
    },
    {
        "slug": "cloud-backup",
        "name": "Резервное копирование",
        "short_description": (
            "Резервные копии серверов и рабочих станций в хранилище оператора; "
            "восстановление файлов и целых машин."
        ),
        "description": (
            "Резервное копирование серверов, рабочих станций и баз 1С в облачное хранилище "
            "оператора по расписанию. Шифрование на стороне клиента, хранение копий до 90 дней, "
            "восстановление отдельных файлов или всей машины. Оплата за объём копий в гигабайтах "
            "и за каждого агента."
        ),
        "category": "backup",
        "tags": ["резервное копирование", "бэкап", "восстановление"],
        "documentation_url": f"https://docs.{_OPERATOR_DOMAIN}/backup",
        "support": _OPERATOR_SUPPORT,
        "plans": [
            plan("storage", "Хранилище копий, за 1 ГБ", unit="gb", price="3.50",
                 trial_days=14, min_quantity=100, max_quantity=100_000),
            plan("agent", "Агент резервного копирования для сервера", unit="unit",
                 price="390.00", trial_days=14, max_quantity=500),
        ],
    },
    {
        "slug": "1c-accounting-cloud",
        "name": "1С:Бухгалтерия в облаке",
        "short_description": (
            "1С:Бухгалтерия 8 через браузер: обновления, резервные копии и обмен с банком "
            "включены. Программа из реестра российского ПО — без НДС."
        ),
        "description": (
            "1С:Бухгалтерия 8 в облаке оператора: работайте из браузера или тонкого клиента, "
            "без своего сервера. Обновления конфигурации, ежедневные резервные копии, "
            "обмен с банком и отправка отчётности включены. Перенесём вашу базу бесплатно. "
            "Программа входит в реестр российского ПО, поэтому НДС не облагается."
        ),
        "category": "1c-cloud",
        "tags": ["1С", "бухгалтерия", "облако", "реестр российского ПО"],
        "documentation_url": f"https://docs.{_OPERATOR_DOMAIN}/1c",
        "support": _OPERATOR_SUPPORT,
        "plans": [
            plan("basic", "Базовая: одна организация, один пользователь",
                 unit="organization", price="1290.00", vat="exempt", trial_days=30,
                 max_quantity=1),
            plan("prof", "ПРОФ: за пользователя", unit="seat", price="1890.00", vat="exempt",
                 trial_days=30, max_quantity=100),
        ],
    },
    {
        "slug": "virtual-pbx",
        "name": "Виртуальная АТС",
        "short_description": (
            "Облачная телефония для офиса: многоканальный номер, IVR, запись разговоров "
            "и интеграция с CRM."
        ),
        "description": (
            "Виртуальная АТС оператора заменяет офисную мини-АТС: городские номера и 8-800, "
            "голосовое меню (IVR), очереди и переадресация на мобильные, запись и хранение "
            "разговоров 90 дней, статистика пропущенных вызовов. Готовые интеграции с "
            "популярными CRM. Оплата за каждого сотрудника."
        ),
        "category": "telephony",
        "tags": ["АТС", "телефония", "IP-телефония", "колл-центр"],
        "documentation_url": f"https://docs.{_OPERATOR_DOMAIN}/vpbx",
        "support": _OPERATOR_SUPPORT,
        "plans": [
            plan("office", "Офис: за сотрудника", unit="seat", price="350.00", trial_days=14,
                 min_quantity=3, max_quantity=500),
            plan("call-center", "Колл-центр: запись и аналитика, за оператора", unit="seat",
                 price="790.00", min_quantity=5, max_quantity=1000),
        ],
    },
    {
        "slug": "business-internet",
        "name": "Интернет для бизнеса",
        "short_description": (
            "Оптоволоконный доступ в интернет для офиса до 1 Гбит/с со статическим IP "
            "и SLA 99,8%."
        ),
        "description": (
            "Выделенный оптоволоконный канал в интернет для офиса и склада: симметричная "
            "скорость до 1 Гбит/с, статический IPv4, резервирование по LTE, круглосуточная "
            "поддержка и SLA 99,8% с компенсацией простоя. Подключение за 5 рабочих дней."
        ),
        "category": "internet",
        "tags": ["интернет", "оптоволокно", "статический IP", "SLA"],
        "documentation_url": f"https://docs.{_OPERATOR_DOMAIN}/internet",
        "support": _OPERATOR_SUPPORT,
        "plans": [
            plan("office-100", "Офис 100 Мбит/с", unit="organization", price="2900.00",
                 max_quantity=1),
            plan("office-500", "Офис 500 Мбит/с", unit="organization", price="6900.00",
                 max_quantity=1),
            plan("campus-1000", "Кампус 1 Гбит/с, по договору", unit="organization",
                 price="14900.00", max_quantity=1, public=False),
        ],
    },
    {
        "slug": "ddos-protection",
        "name": "Защита от DDoS-атак",
        "short_description": (
            "Очистка трафика от DDoS-атак на уровнях L3–L7 для сайтов и сетей; "
            "подключение без замены оборудования."
        ),
        "description": (
            "Защита от DDoS-атак в сети оператора: трафик фильтруется в центрах очистки до того, "
            "как дойдёт до ваших серверов. Защита сайтов (L7) по смене DNS и целых сетей (L3–L4) "
            "по BGP, отчёты об атаках, реакция дежурной смены за 15 минут."
        ),
        "category": "ddos-protection",
        "tags": ["DDoS", "защита сайта", "информационная безопасность"],
        "documentation_url": f"https://docs.{_OPERATOR_DOMAIN}/ddos",
        "support": _OPERATOR_SUPPORT,
        "plans": [
            plan("web", "Защита сайта (L7)", unit="unit", price="4900.00", trial_days=7,
                 max_quantity=50),
            plan("network", "Защита сети (L3–L4), до 10 Гбит/с", unit="organization",
                 price="39900.00", max_quantity=1),
        ],
    },
    {
        "slug": "sms-mailing",
        "name": "SMS-рассылки и мессенджеры",
        "short_description": (
            "Рассылки клиентам по SMS и в мессенджеры с буквенным именем отправителя, "
            "API и личным кабинетом."
        ),
        "description": (
            "Массовые и транзакционные рассылки по SMS и в мессенджеры: коды подтверждения, "
            "уведомления о заказах, акции. Буквенное имя отправителя, шаблоны, статусы доставки, "
            "HTTP API. Пакеты по тысяче сообщений."
        ),
        "category": "messaging",
        "tags": ["SMS", "рассылки", "мессенджеры", "API"],
        "documentation_url": f"https://docs.{_OPERATOR_DOMAIN}/sms",
        "support": _OPERATOR_SUPPORT,
        "plans": [
            plan("pack-1000", "Пакет 1000 SMS в месяц", unit="unit", price="2450.00",
                 max_quantity=1000),
        ],
    },
)  # fmt: skip


# -- partners and their products ------------------------------------------------------------

_NORDCLOUD = "nordcloud.example"
_SHIELD = "shieldsoft.example"
_TEAMWORK = "komanda.example"
_ACCOUNTING = "buh-oblako.example"
_VIDEO = "videozor.example"

PARTNERS: tuple[DemoPartner, ...] = (
    _partner(
        "nordcloud",
        legal_name="Общество с ограниченной ответственностью «Норд Облако»",
        short_name="ООО «Норд Облако»",
        inn="7899002020", kpp="789901001", ogrn="1217899000021",
        address="194044, г. Санкт-Петербург, Большой Сампсониевский пр., д. 68, лит. А",
        settlement_account="40702810600000000001",
        domain=_NORDCLOUD, phone="+78120000101",
        products=(
            {
                "slug": "nordcloud-gpu-server",
                "name": "Облачный сервер с GPU",
                "short_description": (
                    "Облачный сервер с видеокартами NVIDIA для обучения нейросетей, "
                    "рендеринга и аналитики."
                ),
                "description": (
                    "Виртуальные серверы с выделенными GPU в дата-центре в Санкт-Петербурге: "
                    "от одной до восьми видеокарт, NVMe-диски, сеть 25 Гбит/с. Готовые образы "
                    "с CUDA, PyTorch и Jupyter. Почасовой запуск не нужен — платите за месяц "
                    "и за каждый vCPU."
                ),
                "category": "cloud",
                "tags": ["GPU", "облачный сервер", "машинное обучение", "IaaS"],
                "documentation_url": f"https://docs.{_NORDCLOUD}/gpu",
                "support": _support(_NORDCLOUD, "+7 812 000-01-01"),
                "plans": [
                    plan("gpu-1", "1 × GPU, 8 vCPU, 64 ГБ RAM", unit="unit", price="59900.00",
                         max_quantity=10),
                    plan("vcpu", "Дополнительные vCPU", unit="vcpu", price="690.00",
                         max_quantity=256),
                ],
            },
            {
                "slug": "nordcloud-object-storage",
                "name": "Облачное хранилище S3",
                "short_description": (
                    "Объектное облачное хранилище, совместимое с Amazon S3: бэкапы, медиа, "
                    "статика сайтов."
                ),
                "description": (
                    "Объектное облачное хранилище с S3-совместимым API: храните резервные копии, "
                    "фото и видео, логи и статику сайтов. Тройная репликация внутри региона, "
                    "версии объектов, политики жизненного цикла, входящий трафик бесплатно. "
                    "Оплата за гигабайт в месяц."
                ),
                "category": "storage",
                "tags": ["S3", "облачное хранилище", "объектное хранилище"],
                "documentation_url": f"https://docs.{_NORDCLOUD}/s3",
                "support": _support(_NORDCLOUD, "+7 812 000-01-01"),
                "plans": [
                    plan("standard", "Стандартное хранение, за 1 ГБ", unit="gb", price="1.90",
                         trial_days=30, min_quantity=10, max_quantity=1_000_000),
                    plan("cold", "Холодное хранение, за 1 ГБ", unit="gb", price="0.90",
                         min_quantity=100, max_quantity=1_000_000),
                ],
            },
            {
                "slug": "nordcloud-kubernetes",
                "name": "Managed Kubernetes",
                "short_description": (
                    "Управляемые кластеры Kubernetes: мастер-узлы и обновления берём на себя."
                ),
                "description": (
                    "Кластеры Kubernetes под ключ в облаке «Норд Облако»: отказоустойчивые "
                    "мастер-узлы, автоскейлинг рабочих узлов, балансировщики нагрузки, "
                    "интеграция с облачным хранилищем S3 и реестром контейнеров. Оплата за vCPU "
                    "рабочих узлов."
                ),
                "category": "cloud-infrastructure",
                "tags": ["Kubernetes", "контейнеры", "DevOps", "PaaS"],
                "documentation_url": f"https://docs.{_NORDCLOUD}/k8s",
                "support": _support(_NORDCLOUD, "+7 812 000-01-01"),
                "plans": [
                    plan("workers", "Рабочие узлы, за vCPU", unit="vcpu", price="790.00",
                         trial_days=14, min_quantity=4, max_quantity=512),
                ],
            },
            {
                "slug": "nordcloud-postgresql",
                "name": "Облачная база данных PostgreSQL",
                "short_description": (
                    "Управляемый PostgreSQL: реплики, резервные копии и обновления без "
                    "администратора."
                ),
                "description": (
                    "Кластеры PostgreSQL в облаке: синхронная реплика в другой зоне, резервные "
                    "копии с восстановлением на момент времени, мониторинг и обновления "
                    "минорных версий. Совместим с 1С:Предприятие."
                ),
                "category": "cloud-infrastructure",
                "tags": ["PostgreSQL", "база данных", "DBaaS"],
                "documentation_url": f"https://docs.{_NORDCLOUD}/postgresql",
                "support": _support(_NORDCLOUD, "+7 812 000-01-01"),
                "plans": [
                    plan("vcpu", "Кластер, за vCPU", unit="vcpu", price="1150.00",
                         min_quantity=2, max_quantity=128),
                    plan("disk", "Диск кластера, за 1 ГБ", unit="gb", price="13.00",
                         min_quantity=20, max_quantity=20_000),
                ],
            },
            {
                "slug": "nordcloud-colocation",
                "name": "Размещение сервера в дата-центре",
                "short_description": (
                    "Colocation: место в стойке, электропитание и канал в интернет "
                    "в дата-центре Tier III."
                ),
                "description": (
                    "Размещение ваших серверов в дата-центре в Санкт-Петербурге: юниты в общей "
                    "стойке или целая стойка, два ввода питания, охлаждение, охрана, удалённые "
                    "руки круглосуточно, канал 100 Мбит/с включён."
                ),
                "category": "colocation",
                "tags": ["colocation", "дата-центр", "стойка"],
                "documentation_url": f"https://docs.{_NORDCLOUD}/colocation",
                "support": _support(_NORDCLOUD, "+7 812 000-01-01"),
                "plans": [
                    plan("unit", "1U в общей стойке", unit="unit", price="3900.00",
                         max_quantity=40),
                    plan("rack", "Стойка 42U, 5 кВт, по договору", unit="unit",
                         price="89000.00", max_quantity=20, public=False),
                ],
            },
        ),
    ),
    _partner(
        "shieldsoft",
        legal_name="Акционерное общество «Щит Софт»",
        short_name="АО «Щит Софт»",
        inn="7799001016", kpp="779901001", ogrn="1207799000012",
        address="125167, г. Москва, Ленинградский пр., д. 39, стр. 80",
        settlement_account="40702810900000000002",
        domain=_SHIELD, phone="+74950000202",
        products=(
            {
                "slug": "shield-antivirus",
                "name": "Антивирус «Щит» для бизнеса",
                "short_description": (
                    "Антивирус для рабочих станций и серверов с облачной консолью управления. "
                    "В реестре российского ПО — без НДС."
                ),
                "description": (
                    "Защита компьютеров на Windows, Linux и macOS и файловых серверов от вирусов, "
                    "шифровальщиков и фишинга. Облачная консоль: политики, отчёты, удалённая "
                    "установка. Сертифицирован ФСТЭК России, включён в реестр российского ПО — "
                    "лицензии не облагаются НДС."
                ),
                "category": "antivirus",
                "tags": ["антивирус", "защита от шифровальщиков", "ФСТЭК",
                         "реестр российского ПО"],
                "documentation_url": f"https://docs.{_SHIELD}/antivirus",
                "support": _support(_SHIELD, "+7 495 000-02-02"),
                "plans": [
                    plan("month", "Рабочая станция, помесячно", unit="seat", price="190.00",
                         vat="exempt", trial_days=30, min_quantity=5, max_quantity=5000),
                    plan("year", "Рабочая станция, на год", unit="seat", price="1990.00",
                         period="year", vat="exempt", min_quantity=5, max_quantity=5000),
                    plan("server", "Файловый сервер, помесячно", unit="unit", price="690.00",
                         vat="exempt", max_quantity=500),
                ],
            },
            {
                "slug": "shield-mail-security",
                "name": "Защита почты от спама и фишинга",
                "short_description": (
                    "Фильтрация корпоративной почты: спам, фишинг, вредоносные вложения."
                ),
                "description": (
                    "Облачный фильтр входящей почты перед вашим почтовым сервером: антиспам, "
                    "антифишинг, проверка вложений в песочнице, карантин с доступом для "
                    "пользователей. Подключается сменой MX-записи за 10 минут."
                ),
                "category": "security",
                "tags": ["почта", "антиспам", "фишинг", "информационная безопасность"],
                "documentation_url": f"https://docs.{_SHIELD}/mail",
                "support": _support(_SHIELD, "+7 495 000-02-02"),
                "plans": [
                    plan("mailbox", "Почтовый ящик", unit="seat", price="120.00",
                         vat="exempt", trial_days=14, min_quantity=10, max_quantity=10_000),
                ],
            },
            {
                "slug": "shield-ngfw",
                "name": "Межсетевой экран как сервис (NGFW)",
                "short_description": (
                    "Межсетевой экран нового поколения в облаке для офисов и филиалов."
                ),
                "description": (
                    "Облачный межсетевой экран нового поколения: фильтрация приложений и сайтов, "
                    "система предотвращения вторжений, VPN для филиалов и удалённых сотрудников. "
                    "Правила для всех офисов в одной консоли, журналы хранятся год."
                ),
                "category": "security",
                "tags": ["межсетевой экран", "NGFW", "VPN", "IPS"],
                "documentation_url": f"https://docs.{_SHIELD}/ngfw",
                "support": _support(_SHIELD, "+7 495 000-02-02"),
                "plans": [
                    plan("office", "Офис до 100 Мбит/с", unit="unit", price="5900.00",
                         max_quantity=100),
                    plan("vpn-user", "Удалённый доступ, за сотрудника", unit="seat",
                         price="250.00", min_quantity=5, max_quantity=5000),
                ],
            },
            {
                "slug": "shield-qualified-signature",
                "name": "Квалифицированная электронная подпись",
                "short_description": (
                    "КЭП для отчётности, ЭДО и торгов: выпуск за один день, облачное хранение "
                    "ключа."
                ),
                "description": (
                    "Квалифицированная электронная подпись сотрудника организации для "
                    "электронного документооборота, отчётности и госзакупок. Выпуск по "
                    "доверенности за один день, ключ в защищённом облаке или на токене. "
                    "Сертификат на год."
                ),
                "category": "electronic-signature",
                "tags": ["КЭП", "электронная подпись", "ЭДО"],
                "documentation_url": f"https://docs.{_SHIELD}/signature",
                "support": _support(_SHIELD, "+7 495 000-02-02", "пн–пт 9:00–19:00"),
                "plans": [
                    plan("year", "Сертификат на год", unit="seat", price="3500.00",
                         period="year", max_quantity=500),
                ],
            },
            {
                "slug": "shield-security-awareness",
                "name": "Обучение сотрудников кибербезопасности",
                "short_description": (
                    "Курсы и учебные фишинговые рассылки: сотрудники перестают открывать "
                    "опасные письма."
                ),
                "description": (
                    "Платформа обучения кибергигиене: короткие курсы, тесты и учебные фишинговые "
                    "атаки на ваших сотрудников, отчёты для руководителя. Программа из реестра "
                    "российского ПО, без НДС."
                ),
                "category": "hr",
                "tags": ["обучение", "фишинг", "кибергигиена"],
                "documentation_url": f"https://docs.{_SHIELD}/awareness",
                "support": _support(_SHIELD, "+7 495 000-02-02", "пн–пт 9:00–19:00"),
                "plans": [
                    plan("year", "Сотрудник, на год", unit="seat", price="900.00",
                         period="year", vat="exempt", trial_days=14, min_quantity=10,
                         max_quantity=10_000),
                ],
            },
        ),
    ),
    _partner(
        "komanda",
        legal_name="Общество с ограниченной ответственностью «Команда»",
        short_name="ООО «Команда»",
        inn="5499003033", kpp="549901001", ogrn="1225499000033",
        address="630099, г. Новосибирск, ул. Советская, д. 5",
        settlement_account="40702810200000000003",
        domain=_TEAMWORK, phone="+73830000303",
        products=(
            {
                "slug": "komanda-video-meetings",
                "name": "Видеоконференции «Команда»",
                "short_description": (
                    "Видеовстречи до 300 участников из браузера, запись и демонстрация экрана."
                ),
                "description": (
                    "Российский сервис видеоконференций: встречи до 300 участников без установки "
                    "программ, демонстрация экрана, запись в облако, комнаты для переговоров "
                    "и вебинары. Данные хранятся в России, программа в реестре российского ПО."
                ),
                "category": "office",
                "tags": ["видеоконференции", "видеосвязь", "вебинары", "реестр российского ПО"],
                "documentation_url": f"https://docs.{_TEAMWORK}/meetings",
                "support": _support(_TEAMWORK, "+7 383 000-03-03"),
                "plans": [
                    plan("organizer", "Организатор встреч", unit="seat", price="490.00",
                         vat="exempt", trial_days=14, max_quantity=1000),
                    plan("organizer-year", "Организатор встреч, на год", unit="seat",
                         price="4900.00", period="year", vat="exempt", max_quantity=1000),
                ],
            },
            {
                "slug": "komanda-messenger",
                "name": "Корпоративный мессенджер",
                "short_description": (
                    "Рабочие чаты, каналы и звонки с хранением переписки на серверах в России."
                ),
                "description": (
                    "Мессенджер для сотрудников: личные и групповые чаты, каналы отделов, звонки, "
                    "обмен файлами, боты и интеграции по API. Администратор управляет доступом "
                    "и архивом переписки."
                ),
                "category": "messaging",
                "tags": ["мессенджер", "чаты", "коммуникации"],
                "documentation_url": f"https://docs.{_TEAMWORK}/messenger",
                "support": _support(_TEAMWORK, "+7 383 000-03-03"),
                "plans": [
                    plan("user", "Пользователь", unit="seat", price="190.00", vat="exempt",
                         trial_days=30, min_quantity=5, max_quantity=10_000),
                ],
            },
            {
                "slug": "komanda-projects",
                "name": "Управление проектами и задачами",
                "short_description": (
                    "Канбан-доски, диаграммы Ганта и учёт времени для команд до 1000 человек."
                ),
                "description": (
                    "Сервис управления проектами: задачи, канбан-доски, диаграммы Ганта, учёт "
                    "времени, база знаний и отчёты по загрузке. Импорт из Jira и Trello. "
                    "Программа в реестре российского ПО, без НДС."
                ),
                "category": "project-management",
                "tags": ["проекты", "задачи", "канбан", "таск-трекер"],
                "documentation_url": f"https://docs.{_TEAMWORK}/projects",
                "support": _support(_TEAMWORK, "+7 383 000-03-03"),
                "plans": [
                    plan("team", "Команда", unit="seat", price="390.00", vat="exempt",
                         trial_days=14, min_quantity=3, max_quantity=1000),
                    plan("enterprise", "Корпоративный, по договору", unit="seat",
                         price="290.00", vat="exempt", min_quantity=100, max_quantity=10_000,
                         public=False),
                ],
            },
            {
                "slug": "komanda-whiteboard",
                "name": "Онлайн-доска для совместной работы",
                "short_description": (
                    "Бесконечная доска для мозговых штурмов, схем и ретроспектив всей командой."
                ),
                "description": (
                    "Онлайн-доска: стикеры, схемы, майнд-карты и шаблоны для стратегических "
                    "сессий и ретроспектив. Работайте вместе в реальном времени и встраивайте "
                    "доски в видеоконференции «Команда»."
                ),
                "category": "office",
                "tags": ["онлайн-доска", "совместная работа", "вайтборд"],
                "documentation_url": f"https://docs.{_TEAMWORK}/board",
                "support": _support(_TEAMWORK, "+7 383 000-03-03"),
                "plans": [
                    plan("free", "Бесплатный: три доски", unit="seat", price="0.00",
                         vat="exempt", max_quantity=1000),
                    plan("pro", "Безлимитные доски", unit="seat", price="290.00",
                         vat="exempt", trial_days=14, max_quantity=1000),
                ],
            },
            {
                "slug": "komanda-crm",
                "name": "CRM для малого бизнеса",
                "short_description": (
                    "Воронка продаж, клиенты и сделки; телефония и мессенджеры в одной карточке."
                ),
                "description": (
                    "Простая CRM-система: воронки продаж, карточки клиентов и сделок, задачи "
                    "менеджерам, счета из CRM, интеграция с виртуальной АТС и мессенджерами. "
                    "Обмен с 1С:Бухгалтерией."
                ),
                "category": "crm",
                "tags": ["CRM", "продажи", "воронка"],
                "documentation_url": f"https://docs.{_TEAMWORK}/crm",
                "support": _support(_TEAMWORK, "+7 383 000-03-03"),
                "plans": [
                    plan("manager", "Менеджер", unit="seat", price="690.00", vat="exempt",
                         trial_days=14, max_quantity=500),
                    plan("manager-year", "Менеджер, на год", unit="seat", price="6900.00",
                         period="year", vat="exempt", max_quantity=500),
                ],
            },
        ),
    ),
    _partner(
        "buh-oblako",
        legal_name="Общество с ограниченной ответственностью «Бухгалтерия в облаке»",
        short_name="ООО «Бухгалтерия в облаке»",
        inn="6699005054", kpp="669901001", ogrn="1186699000058",
        address="620014, г. Екатеринбург, ул. Малышева, д. 51",
        settlement_account="40702810500000000004",
        domain=_ACCOUNTING, phone="+73430000404",
        products=(
            {
                "slug": "1c-trade-cloud",
                "name": "1С:Управление торговлей в облаке",
                "short_description": (
                    "1С:Управление торговлей 11 через интернет: склад, закупки, продажи, "
                    "маркетплейсы."
                ),
                "description": (
                    "1С:Управление торговлей в облаке: учёт склада и закупок, заказы клиентов, "
                    "интеграция с маркетплейсами и онлайн-кассами, маркировка. Обновления "
                    "и резервные копии включены; программа в реестре российского ПО, без НДС."
                ),
                "category": "1c-cloud",
                "tags": ["1С", "торговля", "склад", "облако"],
                "documentation_url": f"https://docs.{_ACCOUNTING}/trade",
                "support": _support(_ACCOUNTING, "+7 343 000-04-04", "пн–пт 8:00–20:00"),
                "plans": [
                    plan("user", "Пользователь", unit="seat", price="2190.00", vat="exempt",
                         trial_days=30, max_quantity=200),
                ],
            },
            {
                "slug": "1c-payroll-cloud",
                "name": "1С:Зарплата и управление персоналом в облаке",
                "short_description": (
                    "1С:ЗУП в облаке: расчёт зарплаты, кадровый учёт и отчётность в СФР."
                ),
                "description": (
                    "1С:Зарплата и управление персоналом 3 в облаке: расчёт зарплаты и отпусков, "
                    "кадровые документы, электронные трудовые книжки, отчёты в СФР и ФНС. "
                    "Без НДС: программа в реестре российского ПО."
                ),
                "category": "1c-cloud",
                "tags": ["1С", "зарплата", "кадры", "ЗУП"],
                "documentation_url": f"https://docs.{_ACCOUNTING}/payroll",
                "support": _support(_ACCOUNTING, "+7 343 000-04-04", "пн–пт 8:00–20:00"),
                "plans": [
                    plan("organization", "Одна организация до 50 сотрудников",
                         unit="organization", price="1990.00", vat="exempt", trial_days=30,
                         max_quantity=1),
                ],
            },
            {
                "slug": "edo-counterparties",
                "name": "Электронный документооборот с контрагентами",
                "short_description": (
                    "Обмен УПД, счетами и актами с контрагентами через оператора ЭДО прямо из 1С."
                ),
                "description": (
                    "ЭДО с контрагентами: отправка и подписание УПД, счетов-фактур и актов в "
                    "формате ФНС, роуминг с другими операторами, работа из 1С и из браузера. "
                    "Входящие документы бесплатно, исходящие — пакетами."
                ),
                "category": "edo",
                "tags": ["ЭДО", "УПД", "электронные документы"],
                "documentation_url": f"https://docs.{_ACCOUNTING}/edo",
                "support": _support(_ACCOUNTING, "+7 343 000-04-04", "пн–пт 8:00–20:00"),
                "plans": [
                    plan("pack-100", "100 исходящих документов в месяц", unit="organization",
                         price="590.00", max_quantity=1),
                    plan("pack-1000", "1000 исходящих документов в месяц", unit="organization",
                         price="3900.00", max_quantity=1),
                ],
            },
            {
                "slug": "online-reporting",
                "name": "Отчётность в ФНС, СФР и Росстат",
                "short_description": (
                    "Сдача отчётности через интернет: декларации, расчёты и требования ФНС."
                ),
                "description": (
                    "Электронная отчётность во все контролирующие органы: ФНС, СФР, Росстат, "
                    "Росприроднадзор. Проверка отчётов перед отправкой, ответы на требования, "
                    "сверки с бюджетом. Подписка на год для одной организации."
                ),
                "category": "reporting",
                "tags": ["отчётность", "ФНС", "СФР", "декларации"],
                "documentation_url": f"https://docs.{_ACCOUNTING}/reporting",
                "support": _support(_ACCOUNTING, "+7 343 000-04-04", "пн–пт 8:00–20:00"),
                "plans": [
                    plan("year", "Одна организация на ОСНО, на год", unit="organization",
                         price="6900.00", period="year", max_quantity=1),
                    plan("usn-year", "Одна организация на УСН, на год", unit="organization",
                         price="3900.00", period="year", max_quantity=1),
                ],
            },
        ),
    ),
    _partner(
        "videozor",
        legal_name="Общество с ограниченной ответственностью «Видеодозор»",
        short_name="ООО «Видеодозор»",
        inn="1699004044", kpp="169901001", ogrn="1191699000041",
        address="420111, Республика Татарстан, г. Казань, ул. Баумана, д. 44",
        settlement_account="40702810800000000005",
        domain=_VIDEO, phone="+78430000505",
        products=(
            {
                "slug": "videozor-cloud-video",
                "name": "Облачное видеонаблюдение",
                "short_description": (
                    "Видеонаблюдение через облако: камеры без видеорегистратора, просмотр "
                    "с телефона, архив до 30 дней."
                ),
                "description": (
                    "Облачное видеонаблюдение для офисов, магазинов и складов: подключите "
                    "IP-камеры к облаку без видеорегистратора, смотрите трансляции и архив "
                    "с телефона, получайте уведомления о движении. Архив 7, 14 или 30 дней."
                ),
                "category": "cloud-video",
                "tags": ["видеонаблюдение", "камеры", "архив видео"],
                "documentation_url": f"https://docs.{_VIDEO}/cloud",
                "support": _support(_VIDEO, "+7 843 000-05-05"),
                "plans": [
                    plan("archive-7", "Камера, архив 7 дней", unit="unit", price="390.00",
                         trial_days=14, max_quantity=500),
                    plan("archive-30", "Камера, архив 30 дней", unit="unit", price="890.00",
                         max_quantity=500),
                ],
            },
            {
                "slug": "videozor-archive",
                "name": "Хранилище видеоархива",
                "short_description": (
                    "Дополнительный объём для длинного архива видеонаблюдения, за гигабайт."
                ),
                "description": (
                    "Храните записи камер дольше: дополнительный объём облачного архива для "
                    "видеонаблюдения с оплатой за гигабайт. Выгрузка фрагментов для службы "
                    "безопасности и полиции."
                ),
                "category": "cloud-video",
                "tags": ["видеоархив", "видеонаблюдение", "хранилище"],
                "documentation_url": f"https://docs.{_VIDEO}/archive",
                "support": _support(_VIDEO, "+7 843 000-05-05"),
                "plans": [
                    plan("gb", "Архив, за 1 ГБ", unit="gb", price="2.40", min_quantity=100,
                         max_quantity=500_000),
                ],
            },
            {
                "slug": "videozor-visitor-analytics",
                "name": "Видеоаналитика: подсчёт посетителей",
                "short_description": (
                    "Подсчёт посетителей и очередей по камерам магазина; отчёты о конверсии."
                ),
                "description": (
                    "Видеоаналитика для розницы: подсчёт входящих посетителей, длины очередей "
                    "у касс и тепловые карты зала по существующим камерам. Отчёты о конверсии "
                    "вместе с данными касс. Программа в реестре российского ПО, без НДС."
                ),
                "category": "video-analytics",
                "tags": ["видеоаналитика", "розница", "подсчёт посетителей"],
                "documentation_url": f"https://docs.{_VIDEO}/analytics",
                "support": _support(_VIDEO, "+7 843 000-05-05"),
                "plans": [
                    plan("camera", "Камера с аналитикой", unit="unit", price="1200.00",
                         vat="exempt", trial_days=30, max_quantity=200),
                ],
            },
            {
                "slug": "videozor-plate-recognition",
                "name": "Распознавание автомобильных номеров",
                "short_description": (
                    "Въезд на парковку и территорию по номерам автомобилей, белые и чёрные "
                    "списки."
                ),
                "description": (
                    "Распознавание номеров автомобилей по камерам на въезде: открытие шлагбаума "
                    "по белому списку, журнал въездов и выездов, уведомления о машинах из "
                    "чёрного списка. Работает с камерами облачного видеонаблюдения."
                ),
                "category": "video-analytics",
                "tags": ["распознавание номеров", "парковка", "СКУД"],
                "documentation_url": f"https://docs.{_VIDEO}/plates",
                "support": _support(_VIDEO, "+7 843 000-05-05"),
                "plans": [
                    plan("lane", "Одна полоса въезда", unit="unit", price="2900.00",
                         vat="exempt", max_quantity=50),
                    plan("lane-year", "Одна полоса въезда, на год", unit="unit",
                         price="29900.00", period="year", vat="exempt", max_quantity=50),
                ],
            },
        ),
    ),
)  # fmt: skip
