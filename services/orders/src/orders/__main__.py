from orders.main import SERVICE
from vitrina_kit.service import main as run_service


def main() -> None:
    run_service(SERVICE)


if __name__ == "__main__":
    main()
