import smtplib
from email.message import EmailMessage


def test_smtp_server_receives_mail(smtp):
    message = EmailMessage()
    message["From"] = "a@example.com"
    message["To"] = "b@example.com"
    message["Subject"] = "hello"
    message.set_content("body")
    with smtplib.SMTP(smtp.host, smtp.port) as client:
        client.send_message(message)
    assert [m["Subject"] for m in smtp.wait_for(1)] == ["hello"]
    assert smtp.to("b@example.com")
