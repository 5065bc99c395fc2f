/*
 * Loaded into DynamoDB Local's JVM with LD_PRELOAD (local/dynamodb/loopback-bind.ts builds it with the machine's C
 * compiler): a bind() to the wildcard address becomes a bind() to loopback, so the JVM's server socket answers this
 * machine only. DynamoDB Local has no bind option (its Jetty server listens on every interface) and its licence
 * forbids changing it; this changes nothing of it, only what the operating system does with one call of any program
 * it is loaded into. Every other bind() passes through as it is.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_function)(int, const struct sockaddr *, socklen_t);

int bind(int fd, const struct sockaddr *address, socklen_t length) {
  static bind_function next_bind;
  if (!next_bind) next_bind = (bind_function)dlsym(RTLD_NEXT, "bind");
  if (!next_bind) {
    errno = ENOSYS;
    return -1;
  }
  if (address && address->sa_family == AF_INET && length >= (socklen_t)sizeof(struct sockaddr_in)) {
    struct sockaddr_in ipv4;
    memcpy(&ipv4, address, sizeof ipv4);
    if (ipv4.sin_addr.s_addr == htonl(INADDR_ANY)) {
      ipv4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      return next_bind(fd, (const struct sockaddr *)&ipv4, sizeof ipv4);
    }
  }
  if (address && address->sa_family == AF_INET6 && length >= (socklen_t)sizeof(struct sockaddr_in6)) {
    struct sockaddr_in6 ipv6;
    memcpy(&ipv6, address, sizeof ipv6);
    if (IN6_IS_ADDR_UNSPECIFIED(&ipv6.sin6_addr)) {
      /* ::ffff:127.0.0.1, not ::1: a dual-stack socket then still answers 127.0.0.1, the endpoint clients are given. */
      static const unsigned char mapped_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
      memcpy(&ipv6.sin6_addr, mapped_loopback, sizeof mapped_loopback);
      return next_bind(fd, (const struct sockaddr *)&ipv6, sizeof ipv6);
    }
  }
  return next_bind(fd, address, length);
}
