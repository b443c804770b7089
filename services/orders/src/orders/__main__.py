from vitrina_kit.service import main as run_service

from orders.main import SERVICE


def main() -> None:
    run_service(SERVICE)


if __name__ == "__main__":
    main()
